package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;

/**
 * Merges two transaction proofs of adjacent transaction ranges of one block: both must verify, and the left one's
 * end (index, transaction commitment, transition commitment) must be the right one's start.
 */
public final class BlockReductionTask implements TaskType<ProofPair, MockProof> {
  public static final String NAME = "BlockReductionTask";
  public static final BlockReductionTask INSTANCE = new BlockReductionTask();

  private BlockReductionTask() {}

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
    return CircuitKeys.prepare(context, Circuit.TRANSACTION);
  }

  @Override
  public MockProof compute(ProofPair pair, TaskContext context) {
    return Chaining.merge(context.prepared(CircuitKeys.class), Circuit.TRANSACTION, pair);
  }
}
