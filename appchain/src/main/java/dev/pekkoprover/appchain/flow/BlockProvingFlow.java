package dev.pekkoprover.appchain.flow;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.task.BlockProvingInput;
import dev.pekkoprover.appchain.task.BlockProvingTask;
import dev.pekkoprover.appchain.task.BlockReductionTask;
import dev.pekkoprover.appchain.task.NewBlockInput;
import dev.pekkoprover.appchain.task.NewBlockTask;
import dev.pekkoprover.appchain.task.ProofPair;
import dev.pekkoprover.appchain.task.RuntimeProvingTask;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import dev.pekkoprover.protocol.flow.Reduction;
import java.util.List;
import java.util.function.Consumer;

/**
 * Proves one block. Two trees run side by side: per transaction a {@code RuntimeProvingTask} then a
 * {@code BlockProvingTask}, reduced pairwise by {@code BlockReductionTask}; per batch of state
 * transitions a {@code StateTransitionTask}, reduced by {@code StateTransitionReductionTask}. Both
 * reductions are eager (adjacent results merge as soon as both are there). {@code NewBlockTask}
 * starts when both roots are in.
 *
 * <p>{@link BatchProvingFlow} runs several of these inside one flow through {@link #prove}.
 */
public final class BlockProvingFlow implements FlowLogic<BlockProof> {
  private final BlockTrace block;

  private BlockProvingFlow(BlockTrace block) {
    if (block.transactions().isEmpty() || block.transitionBatches().isEmpty()) {
      throw new IllegalArgumentException(
          "block " + block.number() + " has no transactions; the chain produces no empty blocks");
    }
    this.block = block;
  }

  public static BlockProvingFlow create(BlockTrace block) {
    return new BlockProvingFlow(block);
  }

  @Override
  public void start(FlowScope<BlockProof> scope) {
    prove(scope, proof -> scope.complete(new BlockProof(proof)));
  }

  /** Pushes the block's tasks into {@code scope}; hands the block proof to {@code onBlockProof}. */
  void prove(FlowScope<?> scope, Consumer<MockProof> onBlockProof) {
    new Run(scope, onBlockProof).start();
  }

  /** One proving of the block: the two reductions and the join. */
  private final class Run {
    private final FlowScope<?> scope;
    private final Consumer<MockProof> onBlockProof;
    private MockProof transactionRoot;
    private MockProof transitionRoot;

    Run(FlowScope<?> scope, Consumer<MockProof> onBlockProof) {
      this.scope = scope;
      this.onBlockProof = onBlockProof;
    }

    void start() {
      List<TransactionTrace> transactions = block.transactions();
      Reduction<MockProof, ProofPair> transactionProofs =
          new Reduction<>(
              scope,
              transactions.size(),
              BlockReductionTask.INSTANCE,
              ProofPair::new,
              this::onTransactions);
      List<StateTransitionBatch> batches = block.transitionBatches();
      Reduction<MockProof, ProofPair> transitionProofs =
          new Reduction<>(
              scope,
              batches.size(),
              StateTransitionReductionTask.INSTANCE,
              ProofPair::new,
              this::onTransitions);

      for (int i = 0; i < transactions.size(); i++) {
        int index = i;
        TransactionTrace trace = transactions.get(i);
        scope.push(
            RuntimeProvingTask.INSTANCE,
            trace.runtime(),
            (MockProof runtimeProof) ->
                scope.push(
                    BlockProvingTask.INSTANCE,
                    new BlockProvingInput(
                        block.number(),
                        index,
                        runtimeProof,
                        trace.transitions(),
                        trace.transactionCommitmentBefore(),
                        trace.transitionCommitmentBefore()),
                    (MockProof transactionProof) ->
                        transactionProofs.leaf(index, transactionProof)));
      }
      for (int j = 0; j < batches.size(); j++) {
        int index = j;
        scope.push(
            StateTransitionTask.INSTANCE,
            batches.get(j),
            (MockProof transitionProof) -> transitionProofs.leaf(index, transitionProof));
      }
    }

    private void onTransactions(MockProof root) {
      transactionRoot = root;
      joinWhenBoth();
    }

    private void onTransitions(MockProof root) {
      transitionRoot = root;
      joinWhenBoth();
    }

    private void joinWhenBoth() {
      if (transactionRoot != null && transitionRoot != null) {
        scope.push(
            NewBlockTask.INSTANCE,
            new NewBlockInput(block.header(), transactionRoot, transitionRoot),
            onBlockProof);
      }
    }
  }
}
