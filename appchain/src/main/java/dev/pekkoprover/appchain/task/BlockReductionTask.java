package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;

/**
 * Merges two transaction proofs of adjacent transaction ranges of one block: both must verify, and
 * the left one's end (index, transaction commitment, transition commitment) must be the right one's
 * start.
 */
public final class BlockReductionTask extends ProofMergeTask {
  public static final String NAME = "BlockReductionTask";
  public static final BlockReductionTask INSTANCE = new BlockReductionTask();

  private BlockReductionTask() {
    super(NAME, Circuit.TRANSACTION);
  }
}
