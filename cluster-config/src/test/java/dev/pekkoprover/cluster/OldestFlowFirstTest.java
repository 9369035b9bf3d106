package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * Flows started together (a job's batches) through the real queue and workers: the queue serves the
 * oldest flow's tasks first, so the flows finish one after another in the order they were started,
 * instead of all at the end.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OldestFlowFirstTest {
  private static final String GATE = "oldest-first-gate";

  private ProverNode node;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("oldest-first", "").workers(WorkerGroup.allTypes(2, 1)).start();
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  /**
   * Squares each input (waiting at the gate), then squares each result again, and completes with
   * the sum of the fourth powers: as a batch proof, a second stage that comes only with the first's
   * results. One task type, so that the order is the queue's within one type.
   */
  private static FlowLogic<Long> twoStages(List<Long> inputs) {
    return scope -> {
      long[] sum = {0};
      int[] left = {inputs.size()};
      for (long input : inputs) {
        scope.push(
            TestTasks.Square.INSTANCE,
            new Num(input, "hold:" + GATE),
            first ->
                scope.push(
                    TestTasks.Square.INSTANCE,
                    Num.of(first.value()),
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
    List<CompletableFuture<FlowResult.Completed>> results = new ArrayList<>();
    for (int f = 0; f < flows; f++) {
      long from = 100L * (f + 1);
      List<Long> inputs = LongStream.range(from, from + inputsEach).boxed().toList();
      results.add(node.runWithStats("batch-" + (f + 1), twoStages(inputs)).toCompletableFuture());
    }
    // the first two inputs hold both workers at the gate until every flow's first stage waits
    TestProbe.create(node.system())
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(flows * inputsEach - 2, TestNodes.stats(node).of("square").pending());
              return null;
            });
    TestTasks.release(GATE);
    for (int f = 0; f < flows; f++) {
      long from = 100L * (f + 1);
      long fourthPowers = LongStream.range(from, from + inputsEach).map(v -> v * v * v * v).sum();
      assertEquals(fourthPowers, TestNodes.await(results.get(f)).result());
    }
    assertEquals(tasks, TestTasks.runs.size(), "every task ran once");
    // when each flow ended: how many tasks had started by its last one's start (the workers'
    // record of what they ran, in order; a flow's tasks are told apart by their values)
    int[] endedAfter = new int[flows];
    int started = 0;
    for (TestTasks.Run run : TestTasks.runs) {
      started++;
      endedAfter[flowOf(run.value())] = started;
    }
    String progress = Arrays.toString(endedAfter);
    for (int f = 1; f < flows; f++) {
      assertTrue(
          endedAfter[f - 1] < endedAfter[f],
          "batch " + f + " ended before batch " + (f + 1) + ": tasks started by then " + progress);
    }
    // first come, first served runs every flow's first stage (32 tasks) before the first flow's
    // second stage, so the first flow ends after at least 40 tasks; oldest flow first runs the
    // first flow's 16 tasks first, the others' only in a slot it leaves free
    assertTrue(
        endedAfter[0] <= tasks / 2,
        "the first batch ended within half the work: tasks started by then " + progress);
  }
}
