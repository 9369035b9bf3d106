package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A flow started on a node with role sequencer that does not host the sequencer (a standby): its
 * logic is code, which cannot cross to the node that does, so it waits on this node and runs here
 * once this node takes over. It used to go through the singleton proxy to the other node, where it
 * could not be serialised: dropped, its caller waiting out a 7-day timeout.
 */
@ExtendWith(LogCapturingExtension.class)
class StandbyRunTest {
  private final ClusterNodes cluster = new ClusterNodes();

  @AfterEach
  void stop() {
    cluster.close();
  }

  private ProverNode sequencer(String id) {
    return cluster.start(
        id,
        "sequencer,queue",
        "",
        builder -> builder.catalog(TestNodes.catalog()).sequencer(TestNodes.compilePlan()));
  }

  /** A worker node "w" of one worker with two slots (its worker id is {@code w-w1}). */
  private ProverNode worker() {
    return cluster.start(
        "w",
        "worker",
        "",
        builder ->
            builder.nodeId("w").catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 2)));
  }

  private static FanOutReduce<Num, Num, Pair> sumOfSquares(long... leaves) {
    return new FanOutReduce<>(
        TestTasks.Square.INSTANCE,
        java.util.Arrays.stream(leaves).mapToObj(Num::of).toList(),
        TestTasks.Add.INSTANCE,
        Pair::new);
  }

  @Test
  void aFlowStartedOnAStandbyRunsThereOnceItTakesOver() {
    ProverNode first = sequencer("seq-a");
    ProverNode standby = sequencer("seq-b");
    ProverNode worker = worker();
    TestNodes.await(first.ready());
    TestNodes.await(worker.ready());
    assertEquals(Num.of(5), TestNodes.await(first.run("on-first", sumOfSquares(1, 2))));

    CompletableFuture<Num> onStandby =
        LoggingTestKit.info("waits for the sequencer to run on this node")
            .expect(
                standby.system(),
                () -> standby.run("on-standby", sumOfSquares(3, 4)).toCompletableFuture());
    assertFalse(onStandby.isDone(), "the sequencer runs on seq-a");

    ClusterNodes.leave(first);
    assertEquals(Num.of(25), onStandby.orTimeout(60, TimeUnit.SECONDS).join());
  }

  /**
   * A takeover while the worker computes a task of the old run that would not end by itself (it
   * waits for a release that never comes): the worker hears of the new run from its first task,
   * interrupts that compute (whose result nobody would take), and the new run completes on its
   * slots.
   */
  @Test
  void aTakeoverInterruptsTheOldRunsComputeAndTheNewRunCompletes() {
    ProverNode first = sequencer("seq-a");
    ProverNode standby = sequencer("seq-b");
    ProverNode worker = worker();
    TestNodes.await(first.ready());
    TestNodes.await(worker.ready());
    FanOutReduce<Num, Num, Pair> held =
        new FanOutReduce<>(
            TestTasks.Square.INSTANCE,
            List.of(new Num(6, "hold:never-released")),
            TestTasks.Add.INSTANCE,
            Pair::new);
    first.run("held", held);
    TestProbe<Object> probe = TestProbe.create(worker.system());
    probe.awaitAssert(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(1, TestTasks.runningNow("w-w1"), "running");
          return null;
        });
    long started = System.nanoTime(); // it would end by itself only after 30 s (no release)
    CompletableFuture<Num> onStandby =
        standby.run("on-standby", sumOfSquares(3, 4)).toCompletableFuture();

    ClusterNodes.leave(first);
    assertEquals(Num.of(25), onStandby.orTimeout(60, TimeUnit.SECONDS).join());
    probe.awaitAssert(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(0, TestTasks.runningNow("w-w1"), "the old run's compute interrupted");
          return null;
        });
    assertTrue(
        System.nanoTime() - started < TimeUnit.SECONDS.toNanos(25),
        "interrupted, not ended by its own 30 s bound");
  }
}
