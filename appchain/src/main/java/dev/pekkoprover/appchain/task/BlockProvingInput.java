package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * Input of {@code BlockProvingTask}: a transaction's runtime proof and the transitions the trace
 * says it emitted, with the block's commitments just before it.
 */
public record BlockProvingInput(
    long blockNumber,
    int index,
    MockProof runtimeProof,
    List<StateTransition> transitions,
    String transactionCommitmentBefore,
    String transitionCommitmentBefore)
    implements CborSerializable {
  public BlockProvingInput {
    transitions = List.copyOf(transitions);
  }
}
