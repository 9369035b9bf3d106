package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.util.List;

/**
 * Chains block proofs (or batch proofs) of consecutive blocks into one batch proof for settlement:
 * each must verify, and each one's end (next block number, block hash, state root) must be the next
 * one's start (number, parent hash, state root). Public input: the first proof's; output: the last
 * one's, so it names the final state root and the last block hash.
 */
public final class BlockBuildingTask extends CircuitTaskType<BlockBuildingInput, MockProof> {
  public static final String NAME = "BlockBuildingTask";
  public static final BlockBuildingTask INSTANCE = new BlockBuildingTask();

  private BlockBuildingTask() {
    super(NAME, BlockBuildingInput.class, MockProof.class);
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, Circuit.BLOCK, Circuit.BATCH);
  }

  @Override
  public MockProof compute(BlockBuildingInput input, TaskContext context) {
    CircuitKeys keys = context.prepared(CircuitKeys.class);
    List<MockProof> proofs = Inputs.require(input, "block building input").proofs();
    if (proofs.isEmpty()) {
      throw new PermanentTaskFailure("block building needs at least one block proof, got none");
    }
    for (int i = 0; i < proofs.size(); i++) {
      keys.verifyAny(
          proofs.get(i), "proof " + i + " of " + proofs.size(), Circuit.BLOCK, Circuit.BATCH);
    }
    for (int i = 1; i < proofs.size(); i++) {
      Chaining.requireAdjacent(
          Circuit.BATCH, proofs.get(i - 1), proofs.get(i), "proof " + (i - 1), "proof " + i);
    }
    return keys.prove(
        Circuit.BATCH, proofs.get(0).publicInput(), proofs.get(proofs.size() - 1).publicOutput());
  }
}
