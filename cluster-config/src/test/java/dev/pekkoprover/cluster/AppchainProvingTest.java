package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.Appchain;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.testing.TestConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 3, items 1 and 3: seeded random workloads proven through the real queue and workers (1 to 4
 * workers, task subsets split across workers) end with the sequencer's direct state root and last
 * block hash.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AppchainProvingTest {
  private static final List<String> TRANSITIONS =
      List.of(StateTransitionTask.NAME, StateTransitionReductionTask.NAME);
  private final TaskCatalog catalog = TaskCatalog.of(RecordingTaskType.wrap(Appchain.taskTypes()));
  private final AppchainSettings settings = AppchainSettings.fromConfig(TestConfig.config());

  @BeforeEach
  void reset() {
    RecordingTaskType.reset();
  }

  private ProverNode node(String name, WorkerGroup... groups) {
    ProverNode.Builder builder =
        ProverNode.builder(name)
            .config(TestConfig.config(TestNodes.FAST))
            .catalog(catalog)
            .localQueue()
            .sequencer(AppchainJob.startupPlan(settings));
    for (WorkerGroup group : groups) {
      builder.workers(group);
    }
    ProverNode node = builder.start();
    TestNodes.await(node.ready());
    return node;
  }

  /**
   * Proves one seeded random workload (random blocks, block sizes and batch sizes) and checks every
   * batch against the direct computation; returns how many blocks it proved.
   */
  private int proveRandomWorkload(ProverNode node, long seed) {
    Random random = new Random(seed);
    int blocks = 1 + random.nextInt(5);
    int txPerBlock = 1 + random.nextInt(20);
    int perBatch = 1 + random.nextInt(3);
    Workload workload = Workload.generate(seed, 2 + random.nextInt(60), blocks, txPerBlock);
    Chain chain = Chain.create(workload.genesis(), settings);
    workload.submitAll(chain);
    List<BlockTrace> traces = new ArrayList<>();
    for (Optional<BlockTrace> block = chain.produceBlock(txPerBlock);
        block.isPresent();
        block = chain.produceBlock(txPerBlock)) {
      traces.add(block.get());
    }
    List<CompletableFuture<BatchProof>> batches = new ArrayList<>();
    for (int i = 0; i < traces.size(); i += perBatch) {
      batches.add(
          node.run(
                  "seed-" + seed,
                  BatchProvingFlow.create(traces.subList(i, Math.min(traces.size(), i + perBatch))))
              .toCompletableFuture());
    }
    List<BatchProof> proofs = new ArrayList<>();
    batches.forEach(batch -> proofs.add(TestNodes.await(batch)));
    VerificationKeys keys = (VerificationKeys) TestNodes.await(node.registrationParameters());
    assertEquals(List.of(), AppchainJob.checkChain(proofs, chain, keys), "seed " + seed);
    BatchProof last = proofs.get(proofs.size() - 1);
    assertEquals(chain.stateRoot(), last.stateRoot(), "seed " + seed + ": state root");
    assertEquals(chain.lastBlockHash(), last.lastBlockHash(), "seed " + seed + ": last block hash");
    return traces.size();
  }

  @Test
  void twentySeededWorkloadsOnOneToFourWorkersMatchTheDirectComputation() {
    int workloads = 0;
    int blocks = 0;
    List<ProverNode> nodes =
        List.of(
            node("one-worker", WorkerGroup.allTypes(1, 1)),
            node("two-workers", WorkerGroup.allTypes(2, 2)),
            node(
                "three-split",
                WorkerGroup.of(1, TRANSITIONS, 2),
                WorkerGroup.of(2, AppchainJob.typesExcept(TRANSITIONS), 2)),
            node(
                "four-split",
                WorkerGroup.of(2, TRANSITIONS, 1),
                WorkerGroup.of(2, AppchainJob.typesExcept(TRANSITIONS), 3)));
    try {
      long seed = 1000;
      for (ProverNode node : nodes) {
        for (int i = 0; i < 6; i++) {
          blocks += proveRandomWorkload(node, seed++);
          workloads++;
        }
      }
    } finally {
      nodes.forEach(ProverNode::close);
    }
    assertTrue(
        workloads >= 20 && blocks >= workloads, workloads + " workloads, " + blocks + " blocks");
  }

  @Test
  void aTransitionOnlyWorkerAndOneServingTheRestProveTogether() {
    ProverNode node =
        node(
            "split",
            WorkerGroup.of(1, TRANSITIONS, 2),
            WorkerGroup.of(1, AppchainJob.typesExcept(TRANSITIONS), 2));
    try {
      proveRandomWorkload(node, 77);
      proveRandomWorkload(node, 78);
    } finally {
      node.close();
    }
    // split-w1 serves only the transition tasks, split-w2 everything else
    assertTrue(RecordingTaskType.ranOn("split-w1") > 0, "the transition worker took part");
    assertEquals(
        RecordingTaskType.ranOn("split-w1"),
        RecordingTaskType.ranOn("split-w1", StateTransitionTask.NAME)
            + RecordingTaskType.ranOn("split-w1", StateTransitionReductionTask.NAME));
    assertEquals(
        0,
        RecordingTaskType.ranOn("split-w2", StateTransitionTask.NAME),
        "a worker without StateTransitionTask never receives one");
    assertEquals(0, RecordingTaskType.ranOn("split-w2", StateTransitionReductionTask.NAME));
    assertTrue(RecordingTaskType.ranOn("split-w2") > 0);
  }

  @Test
  void theMainJobsCheckRefusesBatchesThatDoNotChainOrVerify() {
    ProverNode node = node("check", WorkerGroup.allTypes(2, 2));
    try {
      Workload workload = Workload.generate(5, 20, 3, 4, 0);
      Chain chain = Chain.create(workload.genesis(), settings);
      workload.submitAll(chain);
      List<BatchProof> proofs = new ArrayList<>();
      for (Optional<BlockTrace> block = chain.produceBlock(4);
          block.isPresent();
          block = chain.produceBlock(4)) {
        proofs.add(TestNodes.await(node.run("one", BatchProvingFlow.create(List.of(block.get())))));
      }
      VerificationKeys keys = (VerificationKeys) TestNodes.await(node.registrationParameters());
      assertEquals(List.of(), AppchainJob.checkChain(proofs, chain, keys));

      List<BatchProof> swapped =
          new ArrayList<>(List.of(proofs.get(1), proofs.get(0), proofs.get(2)));
      List<String> problems = AppchainJob.checkChain(swapped, chain, keys);
      assertTrue(
          problems.stream().anyMatch(p -> p.startsWith("batch 0 starts from state root")),
          problems.toString());

      List<String> forged =
          AppchainJob.checkChain(
              proofs, chain, new VerificationKeys(java.util.Map.of(), keys.provingWork()));
      assertTrue(forged.stream().anyMatch(p -> p.contains("does not verify")), forged.toString());
    } finally {
      node.close();
    }
  }
}
