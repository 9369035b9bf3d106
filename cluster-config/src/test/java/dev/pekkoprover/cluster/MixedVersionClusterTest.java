package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 12, must-show 2, in a cluster of actor systems in one JVM: a worker node built with another
 * version of a task type (a mixed-version rollout) is refused by the queue with one line naming the
 * worker, its node and the difference; it gets no task at all, and the run completes, correctly, on
 * the worker of the same build.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MixedVersionClusterTest {
  private ClusterNodes cluster;

  @BeforeEach
  void start() {
    TestTasks.reset();
    RecordingTaskType.reset();
    cluster = new ClusterNodes();
  }

  @AfterEach
  void stop() {
    RecordingTaskType.reset();
    cluster.close();
  }

  private static List<TaskType<?, ?>> recorded() {
    return RecordingTaskType.wrap(TestTasks.all());
  }

  /**
   * The same types, recorded, with {@code square} in version 2: the catalog of a node of another
   * build.
   */
  private static TaskCatalog otherBuild() {
    List<TaskType<?, ?>> types = new ArrayList<>();
    for (TaskType<?, ?> type : recorded()) {
      types.add(type.name().equals(TestTasks.Square.INSTANCE.name()) ? versionTwo(type) : type);
    }
    return TaskCatalog.of(types);
  }

  private static <I, R> TaskType<I, R> versionTwo(TaskType<I, R> type) {
    return new ForwardingTaskType<>(type) {
      @Override
      public String version() {
        return "2";
      }
    };
  }

  /** Num with its "value" renamed: a result record changed by a build that kept version 1. */
  record RenamedNum(long product, String mode)
      implements dev.pekkoprover.protocol.CborSerializable {}

  /**
   * The same types, recorded, with a {@code square} whose result class has another shape under the
   * same version 1: what a trial's plugin did, which gave a wrong root and no error on any node.
   */
  private static TaskCatalog otherShape() {
    TaskType<Num, RenamedNum> square =
        new dev.pekkoprover.protocol.NamedTaskType<>(
            TestTasks.Square.INSTANCE.name(), Num.class, RenamedNum.class) {
          @Override
          public RenamedNum compute(Num input, dev.pekkoprover.protocol.TaskContext context) {
            return new RenamedNum(input.value() * input.value(), input.mode());
          }
        };
    List<TaskType<?, ?>> types = new ArrayList<>();
    for (TaskType<?, ?> type : recorded()) {
      if (!type.name().equals(square.name())) {
        types.add(type);
      }
    }
    types.addAll(RecordingTaskType.wrap(List.of(square)));
    return TaskCatalog.of(types);
  }

  private ProverNode worker(String id, TaskCatalog catalog) {
    return cluster.start(
        id,
        "worker",
        "",
        builder -> builder.nodeId(id).catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
  }

  @Test
  void aWorkerOfAnotherVersionIsRefusedOnceAndTheRunCompletesOnTheMatchingWorker() {
    refusedOnceAndTheRunCompletesOnTheMatchingWorker(
        otherBuild(), "square version 2 (queue has 1)");
  }

  @Test
  void aWorkerWhoseResultClassChangedUnderTheSameVersionIsRefusedLikeOne() {
    String shape = dev.pekkoprover.protocol.ContractShape.digestOf(otherShape().get("square"));
    String queueShape = dev.pekkoprover.protocol.ContractShape.digestOf(TestTasks.Square.INSTANCE);
    refusedOnceAndTheRunCompletesOnTheMatchingWorker(
        otherShape(),
        "square's input or result classes (shape "
            + shape
            + ", the queue's "
            + queueShape
            + ") under the same version 1: a build changed them without a new version() of the"
            + " type");
  }

  private void refusedOnceAndTheRunCompletesOnTheMatchingWorker(
      TaskCatalog other, String difference) {
    ProverNode sequencer =
        cluster.start(
            "seq",
            "sequencer,queue",
            "",
            builder ->
                builder.catalog(TaskCatalog.of(recorded())).sequencer(TestNodes.compilePlan()));
    ActorTestKit kit = ActorTestKit.create(sequencer.system());

    // One WARN line on the queue's node for the whole run, although the worker announces itself to
    // two entities,
    // every second.
    LoggingTestKit.warn("refused worker old-w1 at ")
        .withMessageContains(
            "its task catalog differs from this queue's: "
                + difference
                + "; it gets no work until it runs the same build")
        .withOccurrences(1)
        .expect(
            kit.system(),
            () -> {
              worker("old", other);
              kit.createTestProbe()
                  .awaitAssert(
                      Duration.ofSeconds(20),
                      () -> {
                        FleetView.WorkerView view = workerView(sequencer, "old-w1");
                        assertTrue(
                            view.refused() != null && view.refused().contains(difference),
                            view.toString());
                        return null;
                      });
              long refusedAt = System.nanoTime();
              runOnTheMatchingWorker(sequencer);
              // its periodic announcements went on after the refusal (each would have been a line)
              kit.createTestProbe()
                  .awaitAssert(
                      Duration.ofSeconds(10),
                      () -> {
                        long sinceRefusal = (System.nanoTime() - refusedAt) / 1_000_000;
                        long heard = workerView(sequencer, "old-w1").lastHeardMillisAgo();
                        assertTrue(
                            sinceRefusal - heard > 2_500,
                            "heard again " + (sinceRefusal - heard) + " ms after the refusal");
                        return null;
                      });
              return null;
            });

    assertEquals(
        0,
        RecordingTaskType.ranOn("old-"),
        "the refused worker ran nothing: " + RecordingTaskType.runs);
    FleetView.WorkerView refused = workerView(sequencer, "old-w1");
    assertEquals(List.of(), refused.servedTypes(), refused.toString());
    assertEquals(0, refused.done(), refused.toString());
    assertEquals(null, workerView(sequencer, "good-w1").refused());
    // the workers gauge of the queues it announces itself to (it is refused Unprepared: those of
    // its registration and compile tasks) counts it as refused, not under the state it announces,
    // so that no alert takes it for a worker that can take the type's tasks
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              String scrape = ProverMetrics.get(sequencer.system()).scrape();
              assertTrue(
                  scrape.contains(
                      "prover_queue_workers{entity=\"compile\",state=\"refused\",task_type=\"compile\"} 1.0"),
                  scrape);
              assertTrue(
                  scrape.contains(
                      "prover_queue_workers{entity=\"compile\",state=\"ready\",task_type=\"compile\"} 1.0"),
                  scrape);
              return null;
            });
  }

  private void runOnTheMatchingWorker(ProverNode sequencer) {
    ProverNode good = worker("good", TaskCatalog.of(recorded()));
    TestNodes.await(sequencer.ready());
    TestNodes.await(good.ready());
    List<Num> leaves = LongStream.rangeClosed(1, 12).mapToObj(Num::of).toList();
    Num sum =
        TestNodes.await(
            sequencer.run(
                "sum-of-squares",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
    assertEquals(Num.of(LongStream.rangeClosed(1, 12).map(n -> n * n).sum()), sum);
    assertEquals(12, RecordingTaskType.ranOn("good-", "square"), RecordingTaskType.runs.toString());
    assertEquals(11, RecordingTaskType.ranOn("good-", "add"), RecordingTaskType.runs.toString());
    assertEquals(
        1,
        RecordingTaskType.ranOn("good-", "compile"),
        "circuit compilation too ran on the good one");
  }

  private static FleetView.WorkerView workerView(ProverNode node, String workerId) {
    return TestNodes.await(node.fleet()).workers().stream()
        .filter(view -> view.workerId().equals(workerId))
        .findFirst()
        .orElseThrow(() -> new AssertionError("the queue does not know worker " + workerId));
  }
}
