package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * One executed transaction of a block trace.
 *
 * @param runtime the runtime prover's input
 * @param transitions the transitions its execution emitted, in order
 * @param transactionCommitmentBefore the block's transaction commitment before this transaction
 * @param transitionCommitmentBefore the block's transition commitment before this transaction's
 *     transitions
 */
public record TransactionTrace(
    RuntimeInput runtime,
    List<StateTransition> transitions,
    String transactionCommitmentBefore,
    String transitionCommitmentBefore)
    implements CborSerializable {
  public TransactionTrace {
    transitions = List.copyOf(transitions);
  }
}
