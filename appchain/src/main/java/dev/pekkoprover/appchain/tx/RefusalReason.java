package dev.pekkoprover.appchain.tx;

/** Why the mempool refused a transaction. */
public enum RefusalReason {
  /**
   * An address is not 64 hex digits, or the recipient's tree position is taken by another account.
   */
  MALFORMED,
  /** The amount is not positive, or the recipient's balance would overflow. */
  INVALID_AMOUNT,
  /** The signature is not the sender's over this transfer. */
  BAD_SIGNATURE,
  /** The nonce is not the sender's next one (a replay, or a gap). */
  BAD_NONCE,
  /** The sender's balance, after the transactions already pending, does not cover the amount. */
  OVERDRAFT,
  /** The mempool holds as many transactions as it may. */
  MEMPOOL_FULL
}
