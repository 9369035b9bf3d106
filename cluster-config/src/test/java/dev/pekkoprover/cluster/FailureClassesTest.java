package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 8, cases 1 and 3 in one JVM: every failure class ends in bounded time. A task that hangs
 * every worker fails its flow after max-attempts leases, naming the task, its type, the attempts
 * and the lease, and later work of the same type runs; a worker crash charges only the task that
 * caused it, never the healthy task beside it.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailureClassesTest {
  /** Far above what the bounded cases take (about 2-4 s), far below "never". */
  private static final long BOUND_SECONDS = 20;

  private ProverNode node;

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  @AfterEach
  void stop() {
    TestTasks.reset(); // releases every held compute, so no thread outlives its test
    if (node != null) {
      node.close();
      node = null;
    }
  }

  private ProverNode start(int workers, int concurrency, String overrides) {
    node =
        TestNodes.node(
                "failures",
                overrides + "\nprover.queue.max-attempts = 3\nprover.worker.cancel-grace = 500ms")
            .workers(WorkerGroup.allTypes(workers, concurrency))
            .start();
    TestNodes.await(node.ready());
    return node;
  }

  /** The flow's failure reason, waiting at most {@link #BOUND_SECONDS}. */
  private static String failureOf(CompletableFuture<?> flow)
      throws InterruptedException, TimeoutException {
    try {
      Object result = flow.get(BOUND_SECONDS, TimeUnit.SECONDS);
      throw new AssertionError("expected the flow to fail, it completed with " + result);
    } catch (ExecutionException e) {
      return assertInstanceOf(FlowFailedException.class, e.getCause()).getMessage();
    }
  }

  private CompletableFuture<Num> squares(String name, Num... leaves) {
    return node.run(
            name,
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE, List.of(leaves), TestTasks.Add.INSTANCE, Pair::new))
        .toCompletableFuture();
  }

  @Test
  void aHungTaskOnTheOnlyWorkerFailsItsFlowInBoundedTimeNamingTaskTypeAttemptsAndLease()
      throws Exception {
    start(
        1,
        1,
        "prover.queue.lease-per-type.square = 500ms\nprover.queue.lease-check-interval = 100ms");
    long started = System.nanoTime();
    String reason = failureOf(squares("hung", new Num(2, "hold:never")));
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    assertTrue(reason.contains("type square"), reason);
    assertTrue(reason.contains("after 3 dispatch(es)"), reason);
    assertTrue(reason.contains("lease of 500 ms"), reason);
    assertTrue(reason.matches("(?s).*task hung-\\d+:\\d+ .*"), reason);
    assertTrue(seconds < 10, "failed after " + seconds + " s");
    // the worker is free again: a healthy task of the same type runs
    assertEquals(Num.of(9), squares("healthy", Num.of(3)).get(BOUND_SECONDS, TimeUnit.SECONDS));
  }

  @Test
  void twoWorkersBothHangingDoNotBlockAHealthyTaskSentAfterwards() throws Exception {
    start(
        2,
        1,
        "prover.queue.lease-per-type.square = 500ms\nprover.queue.lease-check-interval = 100ms");
    CompletableFuture<Num> hung =
        squares("hung", new Num(2, "hold:never"), new Num(3, "hold:never"));
    CompletableFuture<Num> healthy = squares("healthy", Num.of(4));
    assertEquals(Num.of(16), healthy.get(BOUND_SECONDS, TimeUnit.SECONDS));
    assertTrue(failureOf(hung).contains("lease of 500 ms"));
  }

  @Test
  void aHangOnAMergeFailsItsFlowTooNotOnlyOneOnALeaf() throws Exception {
    start(
        1, 1, "prover.queue.lease-per-type.add = 500ms\nprover.queue.lease-check-interval = 100ms");
    FlowLogic<Num> merge =
        scope ->
            scope.push(
                TestTasks.Add.INSTANCE,
                new Pair(new Num(1, "hold:never"), Num.of(2)),
                scope::complete);
    String reason = failureOf(node.run("merge", merge).toCompletableFuture());
    assertTrue(reason.contains("type add"), reason);
    assertTrue(reason.contains("after 3 dispatch(es)"), reason);
    assertTrue(reason.contains("lease of 500 ms"), reason);
  }

  @Test
  void aComputeThatIgnoresItsInterruptIsAbandonedAndItsWorkerRestartedSaysTheLog()
      throws Exception {
    start(
        1,
        1,
        "prover.queue.lease-per-type.square = 500ms\nprover.queue.lease-check-interval = 100ms");
    ActorTestKit kit = ActorTestKit.create(node.system());
    CompletableFuture<Num> hung =
        LoggingTestKit.error("did not stop within 500 ms of its cancellation")
            .withMessageContains("restarts, abandoning that compute's thread")
            .expect(kit.system(), () -> squares("hard", new Num(2, "hold-hard:never")));
    String reason = failureOf(hung);
    assertTrue(reason.contains("after 3 dispatch(es)"), reason);
    assertTrue(reason.contains("3 of 3 attempts and 0 of"), reason);
    // the restarted worker registered again and works
    assertEquals(Num.of(25), squares("after", Num.of(5)).get(BOUND_SECONDS, TimeUnit.SECONDS));
  }

  /**
   * The same on a worker with a second slot (a trial's): the task goes back to that worker, behind
   * its hung compute, and the restart that abandons it spends no worker loss on top of the
   * overrun's attempt. Before, each hang spent both, and the flow's reason read "5 of 5 attempts
   * and 4 of 10 worker losses" for five hangs.
   */
  @Test
  void aComputeThatIgnoresItsInterruptOnAWorkerWithRoomSpendsAnAttemptPerHangAndNoLoss()
      throws Exception {
    start(
        1,
        2,
        "prover.queue.lease-per-type.square = 500ms\nprover.queue.lease-check-interval = 100ms");
    String reason = failureOf(squares("hard", new Num(2, "hold-hard:never")));
    assertTrue(reason.contains("lease of 500 ms overran"), reason);
    assertTrue(reason.contains("3 of 3 attempts and 0 of"), reason);
    assertEquals(Num.of(25), squares("after", Num.of(5)).get(BOUND_SECONDS, TimeUnit.SECONDS));
  }

  /**
   * Case 3: a long healthy task T in one slot; three tasks, one after another in the other slot,
   * each crash the worker on their first run and succeed on retry. T is put back with each crash
   * but spends nothing, and completes.
   */
  @Test
  void aWorkerCrashSpendsNothingOfTheHealthyTaskBesideIt() throws Exception {
    start(1, 2, "");
    FlowLogic<Long> flow =
        new FlowLogic<>() {
          long total;
          int crashes;

          @Override
          public void start(dev.pekkoprover.protocol.flow.FlowScope<Long> scope) {
            scope.push(
                TestTasks.Square.INSTANCE,
                new Num(10, "hold:T"),
                (Num t) -> {
                  total += t.value();
                  scope.complete(total);
                });
            next(scope);
          }

          private void next(dev.pekkoprover.protocol.flow.FlowScope<Long> scope) {
            int k = ++crashes;
            scope.push(
                TestTasks.Square.INSTANCE,
                new Num(k, "crash-once:c" + k),
                (Num c) -> {
                  total += c.value();
                  if (k < 3) {
                    next(scope);
                  } else {
                    TestTasks.release("T");
                  }
                });
          }
        };
    FlowResult.Completed done =
        node.runWithStats("beside-crashes", flow)
            .toCompletableFuture()
            .get(BOUND_SECONDS, TimeUnit.SECONDS);
    assertEquals(100L + 1 + 4 + 9, done.result());
    QueueStats.TypeStats square = TestNodes.stats(node).of("square");
    assertEquals(0, square.failed());
    assertEquals(
        4,
        TestTasks.runs.stream().filter(r -> r.value() == 10).count(),
        "T ran again after each of the three crashes, and still completed");
    for (long k = 1; k <= 3; k++) {
      long value = k;
      assertEquals(
          2,
          TestTasks.runs.stream().filter(r -> r.value() == value).count(),
          "crashed once, then ran");
    }
  }
}
