package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.Appchain;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.FlowResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 4, items 1-3: the appchain proven by a cluster of actor systems in one JVM (sharded queue,
 * singleton sequencer, workers on their own nodes), with worker nodes joining, leaving and being
 * downed mid-run.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterProvingTest {
  private static final List<String> TRANSITION_TASKS =
      List.of(StateTransitionTask.NAME, StateTransitionReductionTask.NAME);

  private final TaskCatalog catalog = TaskCatalog.of(RecordingTaskType.wrap(Appchain.taskTypes()));

  @BeforeEach
  void reset() {
    RecordingTaskType.reset();
  }

  /** A chain of {@code blocks} blocks, produced and traced by the sequencer's own execution. */
  private static final class Blocks {
    final Chain chain;
    final List<BlockTrace> traces = new ArrayList<>();

    Blocks(long seed, int blocks, int txPerBlock, AppchainSettings settings) {
      Workload workload = Workload.generate(seed, 50, blocks, txPerBlock, 0);
      chain = Chain.create(workload.genesis(), settings);
      workload.submitAll(chain);
      for (Optional<BlockTrace> block = chain.produceBlock(txPerBlock);
          block.isPresent();
          block = chain.produceBlock(txPerBlock)) {
        traces.add(block.get());
      }
    }

    /** Proves the blocks in batches of {@code perBatch}, all batches side by side. */
    List<CompletableFuture<FlowResult.Completed>> prove(ProverNode sequencer, int perBatch) {
      List<CompletableFuture<FlowResult.Completed>> batches = new ArrayList<>();
      for (int i = 0; i < traces.size(); i += perBatch) {
        batches.add(
            sequencer
                .runWithStats(
                    "batch",
                    BatchProvingFlow.create(
                        traces.subList(i, Math.min(traces.size(), i + perBatch))))
                .toCompletableFuture());
      }
      return batches;
    }

    /** Every batch completes; the last one's roots equal the direct computation. */
    List<FlowResult.Completed> assertProven(List<CompletableFuture<FlowResult.Completed>> batches) {
      List<FlowResult.Completed> done = new ArrayList<>();
      for (CompletableFuture<FlowResult.Completed> batch : batches) {
        done.add(TestNodes.await(batch));
      }
      BatchProof last = (BatchProof) done.get(done.size() - 1).result();
      assertEquals(chain.stateRoot(), last.stateRoot(), "proven state root = direct computation");
      assertEquals(
          chain.lastBlockHash(),
          last.lastBlockHash(),
          "proven last block hash = direct computation");
      return done;
    }
  }

  private ProverNode sequencerNode(
      ClusterNodes cluster, AppchainSettings settings, String overrides) {
    return cluster.start(
        "A",
        "sequencer,queue",
        overrides,
        b -> b.catalog(catalog).sequencer(AppchainJob.startupPlan(settings)));
  }

  private ProverNode workerNode(
      ClusterNodes cluster, String id, List<String> types, String overrides) {
    return cluster.start(
        id, "worker", overrides, b -> b.catalog(catalog).workers(WorkerGroup.of(1, types, 2)));
  }

  @Test
  void specialisedWorkerNodesProveBlocksWithCorrectRoots() {
    AppchainSettings settings = AppchainSettings.fromConfig(ClusterNodes.config("", ""));
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer = sequencerNode(cluster, settings, "");
      ProverNode transitions = workerNode(cluster, "B", TRANSITION_TASKS, "");
      ProverNode rest = workerNode(cluster, "C", AppchainJob.typesExcept(TRANSITION_TASKS), "");
      TestNodes.await(sequencer.ready());
      TestNodes.await(transitions.ready());
      TestNodes.await(rest.ready());

      Blocks blocks = new Blocks(7, 6, 8, settings);
      blocks.assertProven(blocks.prove(sequencer, 3));

      assertTrue(RecordingTaskType.ranOn("B-") > 0, "the transition worker proved transitions");
      assertEquals(
          RecordingTaskType.ranOn("B-"),
          RecordingTaskType.ranOn("B-", StateTransitionTask.NAME)
              + RecordingTaskType.ranOn("B-", StateTransitionReductionTask.NAME),
          "the transition worker ran nothing else");
      assertEquals(
          0,
          RecordingTaskType.ranOn("C-", StateTransitionTask.NAME)
              + RecordingTaskType.ranOn("C-", StateTransitionReductionTask.NAME),
          "the other worker ran no transition");
    }
  }

  @Test
  void aWorkerNodeJoiningMidRunRegistersAndTakesWork() {
    AppchainSettings settings = AppchainSettings.fromConfig(ClusterNodes.config("", ""));
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer = sequencerNode(cluster, settings, "");
      ProverNode first = workerNode(cluster, "B", List.of(), "");
      TestNodes.await(sequencer.ready());
      TestNodes.await(first.ready());

      // the first worker holds its first tasks until the new node is Ready: the run is surely still
      // going then,
      // however fast this machine proves
      RecordingTaskType.hold("B-");
      Blocks blocks = new Blocks(11, 8, 16, settings);
      List<CompletableFuture<FlowResult.Completed>> batches = blocks.prove(sequencer, 4);
      ProverNode joining = workerNode(cluster, "C", List.of(), "");
      TestNodes.await(joining.ready());
      assertTrue(
          batches.stream().anyMatch(batch -> !batch.isDone()),
          "joined while blocks were being proven");
      ActorTestKit kit = ActorTestKit.create(sequencer.system());
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                assertTrue(
                    RecordingTaskType.ranOn("C-") > 0,
                    "the joining worker takes the work the busy one cannot");
                return null;
              });
      RecordingTaskType.release("B-");

      blocks.assertProven(batches);
      assertTrue(RecordingTaskType.ranOn("C-") > 0, "the joining worker received work");
      assertEquals(
          List.of("B-w1", "C-w1"),
          TestNodes.await(sequencer.registrationStatus()).registeredWorkers(),
          "each worker registered once: no Ready worker took the re-offered registration task");
    }
  }

  @Test
  void tasksOfAWorkerNodeThatLeavesOrIsDownedAreRedelivered() {
    AppchainSettings settings = AppchainSettings.fromConfig(ClusterNodes.config("", ""));
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer = sequencerNode(cluster, settings, "");
      ProverNode leaving = workerNode(cluster, "B", List.of(), "");
      ProverNode downed = workerNode(cluster, "C", List.of(), "");
      ProverNode survivor = workerNode(cluster, "D", List.of(), "");
      for (ProverNode node : List.of(sequencer, leaving, downed, survivor)) {
        TestNodes.await(node.ready());
      }
      RecordingTaskType.hold("B-");
      RecordingTaskType.hold("C-");
      RecordingTaskType.hold("D-"); // until B and C hold tasks, so that they surely get some
      // what B and C computed before (circuits compiled at start-up) is done, not held
      long doneOnB = RecordingTaskType.ranOn("B-");
      long doneOnC = RecordingTaskType.ranOn("C-");

      Blocks blocks = new Blocks(13, 6, 8, settings);
      List<CompletableFuture<FlowResult.Completed>> batches = blocks.prove(sequencer, 3);
      ActorTestKit kit = ActorTestKit.create(sequencer.system());
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                assertTrue(
                    RecordingTaskType.ranOn("B-") - doneOnB >= 2
                        && RecordingTaskType.ranOn("C-") - doneOnC >= 2,
                    "both doomed nodes hold tasks");
                return null;
              });
      long held = RecordingTaskType.ranOn("B-") - doneOnB + RecordingTaskType.ranOn("C-") - doneOnC;

      ClusterNodes.leave(leaving);
      Cluster.get(sequencer.system())
          .manager()
          .tell(new Down(Cluster.get(downed.system()).selfMember().address()));
      RecordingTaskType.release("D-");

      // a result accepted twice would offer a range twice to a reduction and fail its flow: the
      // batches completing
      // with the direct roots shows each result was taken once
      blocks.assertProven(batches);
      RecordingTaskType.release("B-");
      RecordingTaskType.release("C-");
      QueueStats stats = TestNodes.stats(sequencer);
      long redelivered =
          stats.types().values().stream().mapToLong(QueueStats.TypeStats::redelivered).sum();
      assertTrue(
          redelivered >= held, "every held task was put back: " + redelivered + " of " + held);
    }
  }

  @Test
  void whenTheQueueNodeLeavesItsEntitiesRestartElsewhereAndFlowsReSendWhatWasLost() {
    AppchainSettings settings =
        AppchainSettings.fromConfig(ClusterNodes.config("", "")).withProvingWork(3000);
    String quickResend = "prover.sequencer.resend-after = 3s";
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A",
              "sequencer",
              quickResend,
              b -> b.catalog(catalog).sequencer(AppchainJob.startupPlan(settings)));
      ProverNode firstQueue = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode worker = workerNode(cluster, "B", List.of(), "");
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      // every entity lives on Q; a second queue node joins, but nothing is rebalanced onto it
      ProverNode secondQueue = cluster.start("R", "queue", "", b -> b.catalog(catalog));

      // the worker holds its first tasks until Q has gone: Q's entities surely hold tasks in flight
      // and pending
      // when it leaves, however fast this machine proves
      RecordingTaskType.hold("B-");
      Blocks blocks = new Blocks(17, 6, 12, settings);
      List<CompletableFuture<FlowResult.Completed>> batches = blocks.prove(sequencer, 3);
      ActorTestKit kit = ActorTestKit.create(sequencer.system());
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                assertTrue(RecordingTaskType.ranOn("B-") >= 2, "the worker holds tasks");
                long pending =
                    TestNodes.stats(firstQueue).types().values().stream()
                        .mapToLong(QueueStats.TypeStats::pending)
                        .sum();
                assertTrue(
                    pending > 0, "the queue's entities on Q hold tasks that wait for a worker");
                return null;
              });
      ClusterNodes.leave(
          firstQueue); // its entities, with their pending and in-flight tasks, are gone
      RecordingTaskType.release("B-");

      List<FlowResult.Completed> done = blocks.assertProven(batches);
      int resent = done.stream().mapToInt(batch -> batch.stats().resent()).sum();
      assertTrue(resent > 0, "the flows re-sent the tasks the lost entities held");
      assertTrue(
          TestNodes.stats(secondQueue).types().values().stream()
                  .mapToLong(QueueStats.TypeStats::completed)
                  .sum()
              > 0,
          "the entities now live on R and serve");
    }
  }
}
