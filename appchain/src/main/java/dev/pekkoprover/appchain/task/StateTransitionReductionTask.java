package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;

/**
 * Merges two state transition proofs of adjacent ranges: both must verify, and the left one's end
 * (index, root, commitment) must be the right one's start. The result covers both ranges.
 */
public final class StateTransitionReductionTask extends ProofMergeTask {
  public static final String NAME = "StateTransitionReductionTask";
  public static final StateTransitionReductionTask INSTANCE = new StateTransitionReductionTask();

  private StateTransitionReductionTask() {
    super(NAME, Circuit.STATE_TRANSITION);
  }
}
