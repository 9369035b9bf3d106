package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.CborSerializable;

/**
 * Input of {@code RuntimeProvingTask}: one transaction and the pre-states it reads. The prover
 * re-executes it and commits to the transitions it emits; whether the pre-states were the real ones
 * is checked by the state transition proof, whose Merkle witnesses prove each transition's old
 * value.
 *
 * @param index the transaction's position in its block
 * @param recipientBefore the recipient's state before the transfer (the zero account for a new one)
 */
public record RuntimeInput(
    long blockNumber,
    int index,
    SignedTransfer transaction,
    AccountState senderBefore,
    AccountState recipientBefore)
    implements CborSerializable {

  /** "transaction 3 of block 7 (1a2b3c4d…)": how errors name it. */
  public String describe() {
    return "transaction "
        + index
        + " of block "
        + blockNumber
        + (transaction == null || transaction.transfer() == null
            ? ""
            : " (" + abbreviatedHash() + ")");
  }

  private String abbreviatedHash() {
    try {
      return dev.pekkoprover.appchain.state.Sha256.abbreviate(transaction.hash());
    } catch (IllegalArgumentException e) {
      return "malformed";
    }
  }
}
