package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A queue node leaves (a rolling restart) while a worker on another node runs tasks its entities
 * handed out. The entity starts again empty on the other queue node and the flow sends its tasks
 * again; the computes under way must not be repeated: the worker sees the entity stop and sends
 * their results through its node's front, which routes them to the new entity, and that takes a
 * result for a task it holds from whichever worker computed it. Before, the results went to the
 * stopped entity and were lost, and every compute under way on a leaving queue node's entities ran
 * a second time: a proof can cost GPU-minutes. An idle worker joins before the leave: the new
 * entity hands each re-sent square back to the worker that computes it already (its load report
 * names them as orphaned), and a copy it handed the idle worker before that report came is
 * cancelled. The node stops as on SIGTERM (hand-off first, then leave).
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueNodeLeavesMidTaskTest {
  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  @Test
  void computesUnderWayWhenTheirQueueNodeLeavesAreTakenOverNotRunAgain() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode firstQueue = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode worker =
          cluster.start(
              "B", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      // joins after the entities started on Q: nothing is rebalanced onto it, so the square
      // entity moves to R only when Q leaves
      cluster.start("R", "queue", "", b -> b.catalog(catalog));

      CompletionStage<Num> sum =
          sequencer.run(
              "mid-task",
              new FanOutReduce<>(
                  TestTasks.Square.INSTANCE,
                  List.of(new Num(3, "hold:mid-task"), new Num(4, "hold:mid-task")),
                  TestTasks.Add.INSTANCE,
                  Pair::new));
      TestProbe<Object> probe = ActorTestKit.create(sequencer.system()).createTestProbe();
      probe.awaitAssert(
          Duration.ofSeconds(20),
          () -> {
            assertEquals(2, squaresRun().size(), "both squares running on B's two slots");
            return null;
          });
      // an idle worker, which the re-sent squares must not go to: B computes them already
      ProverNode idle =
          cluster.start(
              "C", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      TestNodes.await(idle.ready());
      List<String> runners = squareRunners();
      assertEquals(1, runners.size(), "only B's worker ran squares: " + TestTasks.runs);

      ClusterNodes.terminate(firstQueue); // as SIGTERM: hand-off, then leave

      // the square entity, started anew on R, holds both re-sent squares, in flight on B again:
      // B's load report names them as orphaned. The worker learns of the entity's stop when Q is
      // removed, the moment the flow re-sends, so the re-send may reach R first and hand C a copy;
      // the report then cancels the copy (its compute is interrupted) and hands the square back
      String b = runners.get(0);
      probe.awaitAssert(
          Duration.ofSeconds(20),
          () -> {
            QueueStats.TypeStats square =
                TestNodes.await(sequencer.queueStats()).types().get("square");
            assertEquals(2, square.inFlight(), "held: " + square);
            assertEquals(0, TestTasks.runningNow("C-w1"), "no copy runs on C");
            assertEquals(2, TestTasks.runningNow(b), "B computes both still");
            return null;
          });

      TestTasks.release("mid-task");
      assertEquals(Num.of(25), sum.toCompletableFuture().get(20, TimeUnit.SECONDS), "9 + 16");
      assertEquals(
          Map.of(3L, 1L, 4L, 1L),
          squaresRunBy(b),
          "each square computed once on B although its entity moved mid-compute: "
              + TestTasks.runs);
    }
  }

  /** The workers that ran a square so far. */
  private static List<String> squareRunners() {
    return TestTasks.runs.stream()
        .filter(run -> run.taskType().equals("square"))
        .map(TestTasks.Run::workerId)
        .distinct()
        .toList();
  }

  /** How many times each square ran so far, by its input. */
  private static Map<Long, Long> squaresRun() {
    return squaresRunBy(null);
  }

  /** How many times each square ran so far on this worker (null: on any), by its input. */
  private static Map<Long, Long> squaresRunBy(String workerId) {
    return TestTasks.runs.stream()
        .filter(run -> run.taskType().equals("square"))
        .filter(run -> workerId == null || run.workerId().equals(workerId))
        .collect(Collectors.groupingBy(TestTasks.Run::value, Collectors.counting()));
  }
}
