package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * What the appchain service journals ({@link ChainService}): replayed in order from genesis, these
 * events rebuild its chain, mempool, sealed batches and proven height exactly. Refused transactions
 * are never journaled.
 */
sealed interface ChainEvent extends CborSerializable {

  /**
   * Transactions the mempool accepted, in the order it accepted them (one group commit); each was
   * answered "accepted" only after this event was in the journal.
   */
  record TransactionsAccepted(List<SignedTransfer> transactions) implements ChainEvent {
    public TransactionsAccepted {
      transactions = List.copyOf(transactions);
    }
  }

  /**
   * Block {@code number} took the {@code transactions} oldest pending transactions; {@code
   * blockHash} lets a replay check that it rebuilt the same block.
   */
  record BlockProduced(long number, int transactions, String blockHash) implements ChainEvent {}

  /** Blocks {@code firstBlock..lastBlock} (inclusive) are proven together, as one batch proof. */
  record BatchSealed(long firstBlock, long lastBlock) implements ChainEvent {}

  /**
   * The batch proof of blocks {@code firstBlock..lastBlock} verified and matched the sequencer's
   * roots: its public outputs.
   */
  record BatchProven(
      long firstBlock,
      long lastBlock,
      String stateRootBefore,
      String stateRoot,
      String lastBlockHash)
      implements ChainEvent {}
}
