package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.flow.BlockProof;
import dev.pekkoprover.appchain.flow.BlockProvingFlow;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.MerkleWitness;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.task.BlockBuildingTask;
import dev.pekkoprover.appchain.task.BlockProvingTask;
import dev.pekkoprover.appchain.task.BlockReductionTask;
import dev.pekkoprover.appchain.task.NewBlockTask;
import dev.pekkoprover.appchain.task.RuntimeProvingTask;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TracedTransition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The batch proof of proven blocks ends with the state root and last block hash the sequencer
 * computed directly, whatever order the tasks finish in.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchProvingFlowTest {
  private final VerificationKeys keys = TestChains.keys();

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4})
  void theBatchProofEqualsTheDirectComputationInAnyCompletionOrder(long seed) {
    AppchainSettings settings = TestChains.SETTINGS.withTransitionsPerTask(1 + (int) seed);
    TestChains.Produced produced =
        TestChains.produce(seed, 15 + (int) seed, 3 + (int) seed, 5, settings);
    Chain chain = produced.chain();
    List<BlockTrace> blocks = produced.blocks();

    DirectFlowRunner<BatchProof> runner = DirectFlowRunner.shuffled(keys, seed * 31);
    BatchProof batch = runner.run(BatchProvingFlow.create(blocks)).result();

    assertEquals(chain.stateRoot(), batch.stateRoot());
    assertEquals(chain.lastBlockHash(), batch.lastBlockHash());
    assertEquals(chain.genesisStateRoot(), batch.stateRootBefore());
    assertEquals(Sha256.ZERO_HEX, batch.prevBlockHash());
    assertEquals(0, batch.firstBlock());
    assertEquals(blocks.size() - 1, batch.lastBlock());
    batch.proof().verify(keys);

    int transactions = blocks.stream().mapToInt(b -> b.transactions().size()).sum();
    int transitionBatches = blocks.stream().mapToInt(b -> b.transitionBatches().size()).sum();
    Map<String, Integer> ran = runner.tasksRun();
    assertEquals(transactions, ran.get(RuntimeProvingTask.NAME));
    assertEquals(transactions, ran.get(BlockProvingTask.NAME));
    assertEquals(transactions - blocks.size(), ran.get(BlockReductionTask.NAME));
    assertEquals(transitionBatches, ran.get(StateTransitionTask.NAME));
    assertEquals(transitionBatches - blocks.size(), ran.get(StateTransitionReductionTask.NAME));
    assertEquals(blocks.size(), ran.get(NewBlockTask.NAME));
    assertEquals(blocks.size() - 1, ran.get(BlockBuildingTask.NAME));
    // every block's leaves were pushed at once: the work is there in parallel
    assertTrue(
        runner.maxPending() >= transactions + transitionBatches,
        "max pending " + runner.maxPending());
  }

  @Test
  void aBatchOfOneBlockIsStillABatchProof() {
    TestChains.Produced produced = TestChains.produce(7, 10, 1, 3);
    DirectFlowRunner<BatchProof> runner = DirectFlowRunner.fifo(keys);
    BatchProof batch = runner.run(BatchProvingFlow.create(produced.blocks())).result();
    assertEquals("batch", batch.proof().circuit());
    assertEquals(produced.chain().stateRoot(), batch.stateRoot());
    assertEquals(produced.chain().lastBlockHash(), batch.lastBlockHash());
    assertEquals(1, runner.tasksRun().get(BlockBuildingTask.NAME));
  }

  @Test
  void aBlockProofNamesTheSequencersBlockHashAndRoot() {
    TestChains.Produced produced = TestChains.produce(8, 10, 2, 4);
    BlockTrace second = produced.blocks().get(1);
    BlockProof proof =
        DirectFlowRunner.<BlockProof>shuffled(keys, 5)
            .run(BlockProvingFlow.create(second))
            .result();
    assertEquals(1, proof.number());
    assertEquals(second.blockHash(), proof.blockHash());
    assertEquals(second.stateRootAfter(), proof.stateRoot());
    assertEquals(produced.blocks().get(0).blockHash(), proof.prevBlockHash());
  }

  @Test
  void aTamperedTraceFailsTheFlowNamingTheTransition() {
    TestChains.Produced produced =
        TestChains.produce(9, 10, 2, 4, TestChains.SETTINGS.withTransitionsPerTask(2));
    BlockTrace block = produced.blocks().get(1);
    StateTransitionBatch batch = block.transitionBatches().get(1);
    TracedTransition traced = batch.transitions().get(0);
    List<TracedTransition> transitions = new ArrayList<>(batch.transitions());
    transitions.set(0, new TracedTransition(traced.transition(), new MerkleWitness(0, List.of())));
    List<StateTransitionBatch> batches = new ArrayList<>(block.transitionBatches());
    batches.set(
        1,
        new StateTransitionBatch(1, 2, batch.rootBefore(), batch.commitmentBefore(), transitions));
    BlockTrace tampered = new BlockTrace(block.header(), block.transactions(), batches);

    DirectFlowRunner<BatchProof> runner = DirectFlowRunner.shuffled(keys, 1);
    runner.run(BatchProvingFlow.create(List.of(produced.blocks().get(0), tampered)));
    String failure = runner.failure();
    assertNotNull(failure, "the flow must fail");
    assertTrue(failure.contains("type StateTransitionTask"), failure);
    assertTrue(failure.contains("state transition 2 of block 1"), failure);
  }

  @Test
  void aBatchMustBeConsecutiveNonEmptyBlocks() {
    TestChains.Produced produced = TestChains.produce(10, 10, 3, 2);
    List<BlockTrace> blocks = produced.blocks();
    IllegalArgumentException gap =
        assertThrows(
            IllegalArgumentException.class,
            () -> BatchProvingFlow.create(List.of(blocks.get(0), blocks.get(2))));
    assertTrue(gap.getMessage().contains("block 2 does not follow block 0"), gap.getMessage());
    BlockTrace empty = new BlockTrace(blocks.get(0).header(), List.of(), List.of());
    assertThrows(IllegalArgumentException.class, () -> BlockProvingFlow.create(empty));
    assertThrows(IllegalArgumentException.class, () -> BatchProvingFlow.create(List.of()));
  }
}
