package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * A block as the sequencer executed it, with everything its proving needs: the header (with the
 * state root and block hash the sequencer computed directly), one trace per transaction, and the
 * block's state transitions cut into batches with their Merkle witnesses. A block has at least one
 * transaction: the chain produces no empty blocks.
 */
public record BlockTrace(
    BlockHeader header,
    List<TransactionTrace> transactions,
    List<StateTransitionBatch> transitionBatches)
    implements CborSerializable {
  public BlockTrace {
    transactions = List.copyOf(transactions);
    transitionBatches = List.copyOf(transitionBatches);
  }

  public long number() {
    return header.number();
  }

  public String blockHash() {
    return header.blockHash();
  }

  public String stateRootAfter() {
    return header.stateRootAfter();
  }
}
