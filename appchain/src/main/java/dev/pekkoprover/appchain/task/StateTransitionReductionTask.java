package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;

/**
 * Merges two state transition proofs of adjacent ranges: both must verify, and the left one's end (index, root,
 * commitment) must be the right one's start. The result covers both ranges.
 */
public final class StateTransitionReductionTask implements TaskType<ProofPair, MockProof> {
  public static final String NAME = "StateTransitionReductionTask";
  public static final StateTransitionReductionTask INSTANCE = new StateTransitionReductionTask();

  private StateTransitionReductionTask() {}

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Class<ProofPair> inputType() {
    return ProofPair.class;
  }

  @Override
  public Class<MockProof> resultType() {
    return MockProof.class;
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, Circuit.STATE_TRANSITION);
  }

  @Override
  public MockProof compute(ProofPair pair, TaskContext context) {
    return Chaining.merge(context.prepared(CircuitKeys.class), Circuit.STATE_TRANSITION, pair);
  }
}
