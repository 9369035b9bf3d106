package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Flows started together (a job's batches) through the real queue and a real worker: the queue
 * serves the oldest flow's tasks first, so the flows finish one after another in the order they
 * were started, instead of all at the end.
 *
 * <p>Every task waits at a gate of its own, and the test lets the running task go only once every
 * task its finished ones pushed is pending in the queue. The queue so chooses each next task from a
 * known set, and the order it chooses is the whole assertion. Without the gates the order would
 * hang on which flow's callback reaches the queue first while the worker is free: a loaded machine
 * let a newer flow's second stage in first (CI, stop 58).
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OldestFlowFirstTest {
  private ProverNode node;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("oldest-first", "").workers(WorkerGroup.allTypes(1, 1)).start();
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  /** The gate of the task of this value (an input, or a second stage's square). */
  private static String gate(long value) {
    return "oldest-first-" + value;
  }

  /**
   * Squares each input, then squares each result again, and completes with the sum of the fourth
   * powers: as a batch proof, a second stage that comes only with the first's results. One task
   * type, so that the order is the queue's within one type. Each task waits at its own gate.
   */
  private static FlowLogic<Long> twoStages(List<Long> inputs) {
    return scope -> {
      long[] sum = {0};
      int[] left = {inputs.size()};
      for (long input : inputs) {
        scope.push(
            TestTasks.Square.INSTANCE,
            new Num(input, "hold:" + gate(input)),
            first ->
                scope.push(
                    TestTasks.Square.INSTANCE,
                    new Num(first.value(), "hold:" + gate(first.value())),
                    second -> {
                      sum[0] += second.value();
                      if (--left[0] == 0) {
                        scope.complete(sum[0]);
                      }
                    }));
      }
    };
  }

  /** The flow (0-3) of a task: inputs are 100-107, 200-207, ...; second stages their squares. */
  private static int flowOf(long value) {
    long input = value < 1000 ? value : Math.round(Math.sqrt(value));
    return (int) (input / 100) - 1;
  }

  @Test
  void flowsStartedTogetherFinishInTheOrderTheyStartedTheOldestFarAheadOfTheRest() {
    TestTasks.runs.clear();
    int flows = 4;
    int inputsEach = 8;
    int tasks = flows * inputsEach * 2;
    TestProbe<Object> probe = TestProbe.create(node.system());
    // the worker runs an earlier flow's task while the batches push theirs: else the first push
    // to reach the queue, of whichever batch, would go straight to the free worker
    CompletableFuture<Long> earlier =
        node.<Long>run(
                "earlier",
                scope ->
                    scope.push(
                        TestTasks.Square.INSTANCE,
                        new Num(2, "hold:" + gate(2)),
                        squared -> scope.complete(squared.value())))
            .toCompletableFuture();
    probe.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          assertEquals(1, TestTasks.runs.size(), "the earlier flow's task started");
          return null;
        });
    TestTasks.runs.clear();
    List<CompletableFuture<FlowResult.Completed>> results = new ArrayList<>();
    for (int f = 0; f < flows; f++) {
      long from = 100L * (f + 1);
      List<Long> inputs = LongStream.range(from, from + inputsEach).boxed().toList();
      results.add(node.runWithStats("batch-" + (f + 1), twoStages(inputs)).toCompletableFuture());
    }
    probe.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          assertEquals(flows * inputsEach, TestNodes.stats(node).of("square").pending());
          return null;
        });
    TestTasks.release(gate(2));
    assertEquals(4L, TestNodes.await(earlier));
    for (int started = 1; started <= tasks; started++) {
      // the started-th task runs, and every second stage its finished predecessors pushed is
      // pending: the queue's next choice is made from all of them
      int runningNow = started;
      List<Long> ran =
          probe.awaitAssert(
              Duration.ofSeconds(10),
              Duration.ofMillis(5),
              () -> {
                List<Long> values = TestTasks.runs.stream().map(TestTasks.Run::value).toList();
                assertEquals(runningNow, values.size(), "tasks started");
                long firstsDone =
                    values.stream().limit(runningNow - 1).filter(v -> v < 1000).count();
                assertEquals(
                    flows * inputsEach + firstsDone - runningNow,
                    TestNodes.stats(node).of("square").pending(),
                    "tasks pending with " + runningNow + " started");
                return values;
              });
      TestTasks.release(gate(ran.get(started - 1)));
    }
    for (int f = 0; f < flows; f++) {
      long from = 100L * (f + 1);
      long fourthPowers = LongStream.range(from, from + inputsEach).map(v -> v * v * v * v).sum();
      assertEquals(fourthPowers, TestNodes.await(results.get(f)).result());
    }
    assertEquals(tasks, TestTasks.runs.size(), "every task ran once");
    List<Long> expected = new ArrayList<>();
    for (int f = 0; f < flows; f++) {
      long from = 100L * (f + 1);
      LongStream.range(from, from + inputsEach).forEach(expected::add);
      LongStream.range(from, from + inputsEach).map(v -> v * v).forEach(expected::add);
    }
    assertEquals(
        expected,
        TestTasks.runs.stream().map(TestTasks.Run::value).toList(),
        "the tasks in the order the worker started them");
    // when each flow ended: how many tasks had started by its last one's start
    int[] endedAfter = new int[flows];
    int started = 0;
    for (TestTasks.Run run : TestTasks.runs) {
      started++;
      endedAfter[flowOf(run.value())] = started;
    }
    // oldest flow first: each flow's first stage, then its second stage (each pushed behind the
    // flow's pending first stages), then the next flow's; first come, first served runs all 32
    // first stages, in the order the flows' pushes came, before any second stage
    assertEquals(
        "[16, 32, 48, 64]", Arrays.toString(endedAfter), "tasks started by each flow's end");
  }
}
