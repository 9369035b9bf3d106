package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** Item 6: 64 leaves over 3 workers of capacity 1, through the real queue and workers. */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FanOutReduceTest {
  private ProverNode node;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("fanout", "").workers(WorkerGroup.allTypes(3, 1)).start();
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void sixtyFourLeavesReduceToTheRightRootWithEveryTaskOnce() {
    TestTasks.runs.clear();
    List<Num> leaves = LongStream.rangeClosed(1, 64).mapToObj(Num::of).toList();
    FlowResult.Completed done =
        TestNodes.await(
            node.runWithStats(
                "sum-of-squares",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));

    assertEquals(Num.of(64L * 65 * 129 / 6), done.result(), "sum of squares 1..64");
    assertEquals(127, done.stats().tasks(), "64 leaves and 63 merges");
    assertEquals(0, done.stats().duplicates());

    List<TestTasks.Run> squares =
        TestTasks.runs.stream().filter(run -> run.taskType().equals("square")).toList();
    List<TestTasks.Run> adds =
        TestTasks.runs.stream().filter(run -> run.taskType().equals("add")).toList();
    assertEquals(64, squares.size(), "each leaf ran exactly once");
    assertEquals(
        Set.copyOf(LongStream.rangeClosed(1, 64).boxed().toList()),
        squares.stream().map(TestTasks.Run::value).collect(Collectors.toSet()));
    assertEquals(63, adds.size(), "each merge ran exactly once");

    Set<String> workersUsed = new HashSet<>();
    TestTasks.runs.forEach(run -> workersUsed.add(run.workerId()));
    assertEquals(3, workersUsed.size(), "all three workers took work: " + workersUsed);
    TestTasks.maxConcurrent.forEach(
        (worker, max) ->
            assertEquals(1, max, "worker " + worker + " held " + max + " tasks at once"));

    QueueStats stats = TestNodes.stats(node);
    assertEquals(64, stats.of("square").completed());
    assertEquals(63, stats.of("add").completed());
    assertEquals(
        0,
        stats.of("square").redelivered() + stats.of("add").redelivered(),
        "no worker declined: the queue never handed a busy worker a second task");
    assertTrue(stats.unknownResults() == 0);
  }
}
