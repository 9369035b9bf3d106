package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * Input of {@code StateTransitionTask}: consecutive state transitions of one block, from transition
 * {@code firstIndex} on, with the state root and transition commitment just before the first of
 * them.
 */
public record StateTransitionBatch(
    long blockNumber,
    int firstIndex,
    String rootBefore,
    String commitmentBefore,
    List<TracedTransition> transitions)
    implements CborSerializable {
  public StateTransitionBatch {
    transitions = List.copyOf(transitions);
  }
}
