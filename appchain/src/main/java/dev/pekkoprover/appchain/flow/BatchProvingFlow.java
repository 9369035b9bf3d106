package dev.pekkoprover.appchain.flow;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.task.BlockBuildingInput;
import dev.pekkoprover.appchain.task.BlockBuildingTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import dev.pekkoprover.protocol.flow.Reduction;
import java.util.ArrayList;
import java.util.List;

/**
 * Proves consecutive blocks into one batch proof: every block is proven in parallel (as in {@link
 * BlockProvingFlow}), and adjacent block proofs are chained by {@code BlockBuildingTask} as soon as
 * both are there. A batch of one block still ends with one {@code BlockBuildingTask}, so the result
 * is always a batch proof.
 */
public final class BatchProvingFlow implements FlowLogic<BatchProof> {
  private final List<BlockTrace> blocks;

  private BatchProvingFlow(List<BlockTrace> blocks) {
    if (blocks.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one block");
    }
    for (int i = 1; i < blocks.size(); i++) {
      BlockTrace previous = blocks.get(i - 1);
      BlockTrace next = blocks.get(i);
      if (next.number() != previous.number() + 1
          || !next.header().prevBlockHash().equals(previous.blockHash())) {
        throw new IllegalArgumentException(
            "blocks of a batch must be consecutive: block "
                + next.number()
                + " does not follow block "
                + previous.number());
      }
    }
    this.blocks = List.copyOf(blocks);
  }

  /**
   * @param blocks consecutive blocks, oldest first, each with at least one transaction
   */
  public static BatchProvingFlow create(List<BlockTrace> blocks) {
    return new BatchProvingFlow(blocks);
  }

  @Override
  public void start(FlowScope<BatchProof> scope) {
    List<BlockProvingFlow> perBlock = new ArrayList<>(blocks.size());
    for (BlockTrace block : blocks) {
      perBlock.add(BlockProvingFlow.create(block));
    }
    Reduction<MockProof, BlockBuildingInput> chain =
        new Reduction<>(
            scope,
            blocks.size(),
            BlockBuildingTask.INSTANCE,
            (left, right) -> new BlockBuildingInput(List.of(left, right)),
            root -> finish(scope, root));
    for (int k = 0; k < perBlock.size(); k++) {
      int index = k;
      perBlock.get(k).prove(scope, blockProof -> chain.leaf(index, blockProof));
    }
  }

  private static void finish(FlowScope<BatchProof> scope, MockProof root) {
    if (Circuit.BATCH.id().equals(root.circuit())) {
      scope.complete(new BatchProof(root));
    } else {
      scope.push(
          BlockBuildingTask.INSTANCE,
          new BlockBuildingInput(List.of(root)),
          (MockProof batch) -> scope.complete(new BatchProof(batch)));
    }
  }
}
