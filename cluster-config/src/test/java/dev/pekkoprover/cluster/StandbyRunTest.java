package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
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
 * could not be serialised: dropped, its caller waiting out a 7-day timeout. Also what a takeover
 * leaves behind: the older run's compute on a worker, and the older run's tasks in a queue entity.
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

  @Test
  void aFlowStartedOnAStandbyRunsThereOnceItTakesOver() {
    ProverNode first = sequencer("seq-a");
    ProverNode standby = sequencer("seq-b");
    ProverNode worker = worker();
    TestNodes.await(first.ready());
    TestNodes.await(worker.ready());
    assertEquals(Num.of(5), TestNodes.await(first.run("on-first", TestNodes.sumOfSquares(1, 2))));

    CompletableFuture<Num> onStandby =
        LoggingTestKit.info("waits for the sequencer to run on this node")
            .expect(
                standby.system(),
                () ->
                    standby.run("on-standby", TestNodes.sumOfSquares(3, 4)).toCompletableFuture());
    assertFalse(onStandby.isDone(), "the sequencer runs on seq-a");
    assertTrue(standby.standingBy(), "seq-b stands by");
    assertFalse(first.standingBy(), "seq-a runs the sequencer");
    assertFalse(worker.standingBy(), "no role sequencer");
    // /status says which node runs it, from either side and from a worker node
    String firstAt = first.info().address();
    assertEquals("standby", standby.info().sequencer());
    assertEquals(firstAt, standby.info().sequencerNode());
    assertEquals("active", first.info().sequencer());
    assertEquals(firstAt, first.info().sequencerNode());
    assertEquals(null, worker.info().sequencer());
    assertEquals(firstAt, worker.info().sequencerNode());
    assertEquals("  sequencer on " + firstAt, StatusTables.sequencerCell(worker.info()));
    assertEquals(
        "  sequencer standby (runs on " + firstAt + ")",
        StatusTables.sequencerCell(standby.info()));

    ClusterNodes.leave(first);
    assertEquals(Num.of(25), onStandby.orTimeout(60, TimeUnit.SECONDS).join());
    assertFalse(standby.standingBy(), "seq-b took over");
    assertEquals("active", standby.info().sequencer());
    assertEquals(standby.info().address(), standby.info().sequencerNode());
    // the worker node too, once gossip has told it that seq-a left (it counts a Leaving member)
    ActorTestKit.create(worker.system())
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            () -> {
              assertEquals(standby.info().address(), worker.info().sequencerNode());
              return null;
            });
  }

  /**
   * A run that waits on a standby and is cancelled there fails at once with the reason and never
   * reaches the sequencer, also after this node takes over (a review: cancel found nothing on a
   * standby, and the flow its caller had given up on started at the takeover).
   */
  @Test
  void aRunCancelledWhileItWaitsOnAStandbyNeverStarts() throws Exception {
    ProverNode first = sequencer("seq-a");
    ProverNode standby = sequencer("seq-b");
    ProverNode worker = worker();
    TestNodes.await(first.ready());
    TestNodes.await(worker.ready());
    CompletableFuture<Num> givenUp =
        standby.run("given-up", TestNodes.sumOfSquares(7, 8)).toCompletableFuture();
    CompletableFuture<Num> kept =
        standby.run("kept", TestNodes.sumOfSquares(1, 3)).toCompletableFuture();
    assertEquals(
        List.of("given-up"), TestNodes.await(standby.cancel("given-up", "no longer needed")));
    java.util.concurrent.ExecutionException failed =
        org.junit.jupiter.api.Assertions.assertThrows(
            java.util.concurrent.ExecutionException.class, () -> givenUp.get(5, TimeUnit.SECONDS));
    assertEquals(
        "flow given-up failed: cancelled: no longer needed", failed.getCause().getMessage());
    assertFalse(kept.isDone(), "the other run still waits");

    ClusterNodes.leave(first);
    assertEquals(Num.of(10), kept.orTimeout(60, TimeUnit.SECONDS).join());
    dev.pekkoprover.sequencer.ProvingOrchestrator.Status status =
        TestNodes.await(standby.sequencerStatus());
    assertEquals(1, status.flowsCompleted(), "only the kept run ran here: " + status);
    assertEquals(0, status.flowsRunning(), status.toString());
    assertEquals(0, status.flowsFailed(), status.toString());
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
        standby.run("on-standby", TestNodes.sumOfSquares(3, 4)).toCompletableFuture();

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

  /**
   * The queue's side of a takeover, with the test playing both runs' sequencers at a queue node's
   * front: run r1 registered the worker and holds five square tasks in that type's entity (two
   * computing, three waiting for a slot); run r2's first task is an add, from which the worker
   * learns of r2 and registers again (r2 then offers its registration), and r2 pushes no square
   * yet. The square entity gives r1's tasks up at r2's first task (the front tells every entity
   * that the run started): one INFO line, the two computes cancelled, the three dropped. Before,
   * that entity kept them until r2's first square, handing them to the worker once it was
   * registered for r2, which failed each for good: a worker WARN and a queue ERROR per task after
   * every takeover.
   */
  @Test
  void anEntityTheNewerRunHasNotReachedYetGivesUpTheOlderRunsTasksAtTheRunsFirstTask() {
    ProverNode node =
        cluster.start(
            "q",
            "queue,worker",
            "",
            builder ->
                builder
                    .nodeId("q")
                    .catalog(TestNodes.catalog())
                    .workers(WorkerGroup.allTypes(1, 2)));
    String r1 = "r0000000000001-00000000";
    String r2 = "r0000000000002-00000000";
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestProbe<TaskOutcome> oldRun = kit.createTestProbe();
    TestProbe<TaskOutcome> newRun = kit.createTestProbe();
    node.queue().tell(new Enqueue(List.of(offer(r1)), oldRun.getRef()));
    assertInstanceOf(
        TaskOutcome.Succeeded.class, oldRun.receiveMessage(Duration.ofSeconds(20)), "registered");
    List<TaskEnvelope> held = new ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      held.add(new TaskEnvelope("f:" + i, "f", r1, "square", 1, new Num(i, "hold:r1-square")));
    }
    node.queue().tell(new Enqueue(held, oldRun.getRef()));
    oldRun.awaitAssert(
        Duration.ofSeconds(20),
        () -> {
          assertEquals(2, TestTasks.runningNow("q-w1"), "two of r1's squares computing");
          return null;
        });

    LoggingTestKit.error("failed for good")
        .withOccurrences(0)
        .expect(
            node.system(),
            () -> {
              LoggingTestKit.info(
                      "sequencer run "
                          + r2
                          + " took over from older runs: 3 of their waiting task(s) dropped here,"
                          + " 2 in flight cancelled")
                  .expect(
                      node.system(),
                      () -> {
                        // r2's first task, an add: the worker, Ready in r1, learns of r2 from it
                        node.queue()
                            .tell(
                                new Enqueue(
                                    List.of(
                                        new TaskEnvelope(
                                            "g:1",
                                            "g",
                                            r2,
                                            "add",
                                            1,
                                            new Pair(Num.of(2), Num.of(3)))),
                                    newRun.getRef()));
                        return null;
                      });
              node.queue().tell(new Enqueue(List.of(offer(r2)), newRun.getRef()));
              Set<String> answered = new TreeSet<>();
              for (TaskOutcome outcome : newRun.receiveSeveralMessages(2, Duration.ofSeconds(20))) {
                assertInstanceOf(TaskOutcome.Succeeded.class, outcome, outcome.toString());
                answered.add(outcome.taskId());
              }
              assertEquals(Set.of("g:1", "register:1"), answered, "registered again for r2");
              oldRun.awaitAssert(
                  Duration.ofSeconds(20),
                  () -> {
                    assertEquals(0, TestTasks.runningNow("q-w1"), "r1's computes cancelled");
                    QueueStats.TypeStats squares = TestNodes.stats(node).of("square");
                    assertEquals(0, squares.pending(), "r1's waiting squares dropped");
                    assertEquals(0, squares.inFlight(), "r1's computes answered");
                    return null;
                  });
              node.queue()
                  .tell(
                      new Enqueue(
                          List.of(new TaskEnvelope("f:1", "f", r2, "square", 1, Num.of(7))),
                          newRun.getRef()));
              TaskOutcome.Succeeded square =
                  assertInstanceOf(
                      TaskOutcome.Succeeded.class, newRun.receiveMessage(Duration.ofSeconds(20)));
              assertEquals(Num.of(49), square.result());
              assertEquals(r2, square.runId());
              return null;
            });
    assertEquals(0, TestNodes.stats(node).of("square").failed(), "no square failed for good");
    oldRun.expectNoMessage(Duration.ofMillis(200)); // r1's flows are gone: nothing answers them
  }

  private static TaskEnvelope offer(String run) {
    return new TaskEnvelope(
        "register:1",
        "register",
        run,
        WorkerRegistrationTask.NAME,
        1,
        new TestTasks.Keys("test-key"));
  }
}
