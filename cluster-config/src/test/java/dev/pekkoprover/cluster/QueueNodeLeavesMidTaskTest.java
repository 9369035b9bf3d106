package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import dev.pekkoprover.testing.LogCapture;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A queue node leaves (a rolling restart) while a worker on another node runs tasks its entities
 * handed out. The entity starts again empty on the other queue node and the flow sends its tasks
 * again; the computes under way must not be repeated: the worker hears of the entity's stop and
 * sends its results and load through its node's front, which routes them to the new entity, and
 * that hands each re-sent task back to the worker that computes it (its load report names them as
 * orphaned) and takes its result. Before, the results went to the stopped entity and were lost, and
 * every compute under way on a leaving queue node's entities ran a second time: a proof can cost
 * GPU-minutes. The node stops as on SIGTERM (hand-off first, then leave).
 *
 * <p>The worker must hear of the stop at the hand-off, not at the node's removal: that is when the
 * flow sends the tasks again, and Pekko's death watch would tell the worker no sooner (Artery sends
 * no notification once a node's CoordinatedShutdown has begun). So the leaving node's front
 * withdraws as the worker node's relay and its entities tell the worker they stop, both before the
 * hand-off. The test holds the leaving node's shutdown right after its hand-off (it stays Up, the
 * flow re-sends nothing yet) and checks that the new entities hear from the workers in that window,
 * and that a square finished in it reaches them.
 *
 * <p>The same holds when the leaving node is a standby sequencer node with the queue role too (an
 * HA pair of sequencer nodes that hold queues): it tells the sequencer on the other node that it
 * leaves, before its hand-off, as a queue-only node does.
 */
@ExtendWith(LogCapture.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueNodeLeavesMidTaskTest {
  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  /**
   * @param roles the leaving node's: a queue node, or a standby sequencer node that has the queue
   *     role too (the sequencer runs on A, the oldest node with role sequencer)
   */
  @ParameterizedTest(name = "Q with roles {0}")
  @ValueSource(strings = {"queue", "sequencer,queue"})
  void computesUnderWayWhenTheirQueueNodeLeavesAreTakenOverNotRunAgain(String roles)
      throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode firstQueue =
          cluster.start(
              "Q",
              roles,
              "",
              b ->
                  roles.contains("sequencer")
                      ? b.catalog(catalog).sequencer(TestNodes.compilePlan())
                      : b.catalog(catalog));
      ProverNode worker =
          cluster.start(
              "B", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      // joins after the entities started on Q: nothing is rebalanced onto it, so the entities move
      // to R only when Q leaves
      cluster.start("R", "queue", "", b -> b.catalog(catalog));

      CompletionStage<Num> sum =
          sequencer.run(
              "mid-task",
              new FanOutReduce<>(
                  TestTasks.Square.INSTANCE,
                  List.of(new Num(3, "hold:three"), new Num(4, "hold:four")),
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
      String b = runners.get(0);

      // Q's shutdown waits after its hand-off (in the same phase) until the window's checks ran
      CompletableFuture<Done> window = ClusterNodes.holdAfterHandOff(firstQueue);
      // Q tells the sequencer it leaves as its shutdown begins, before the hand-off: the Leaving
      // event comes only after the window (Pekko hands shards off, then leaves)
      String qAddress = Cluster.get(firstQueue.system()).selfMember().address().toString();
      CompletableFuture<Void> stopped =
          LoggingTestKit.info("Queue node " + qAddress + " leaves: its queue entities move")
              .withLoggerName(ProvingOrchestrator.class.getName())
              .expect(
                  sequencer.system(),
                  () ->
                      CompletableFuture.runAsync(
                          () -> ClusterNodes.terminate(firstQueue))); // as SIGTERM
      try {
        assertEquals(
            MemberStatus.up(),
            Cluster.get(firstQueue.system()).selfMember().status(),
            "Q is still Up, held after its hand-off, when the sequencer has heard that it leaves");
        // the entities, started anew on R (the square entity holds nothing yet: the flow has not
        // re-sent), know both workers before Q leaves: B and C announced through R's front when
        // Q's entities told them they stop (through Q's front they would be lost)
        probe.awaitAssert(
            Duration.ofSeconds(8),
            () -> {
              QueueStats stats = TestNodes.await(sequencer.queueStats());
              assertEquals(0, stats.types().get("square").inFlight(), "the new square entity");
              assertEquals(2, stats.workers(), "workers the new entities know while Q hands off");
              return null;
            });
        // a square finished now is reported through B's front to the new square entity, which does
        // not hold it yet (the flow has not re-sent): it counts it as unknown; B keeps the result
        TestTasks.release("three");
        probe.awaitAssert(
            Duration.ofSeconds(8),
            () -> {
              assertEquals(
                  1,
                  TestNodes.await(sequencer.queueStats()).unknownResults(),
                  "square 3's result reached the new entity");
              return null;
            });
      } finally {
        window.complete(Done.getInstance());
      }
      stopped.get(40, TimeUnit.SECONDS);

      // Q removed, the flow re-sent both squares: the new entity handed both back to B, which
      // answered square 3 with the result it kept and computes square 4 still; no copy on C
      probe.awaitAssert(
          Duration.ofSeconds(20),
          () -> {
            QueueStats.TypeStats square =
                TestNodes.await(sequencer.queueStats()).types().get("square");
            assertEquals(1, square.inFlight(), "square 4 held again: " + square);
            assertEquals(0, TestTasks.runningNow("C-w1"), "no copy runs on C");
            assertEquals(1, TestTasks.runningNow(b), "B computes square 4 still");
            return null;
          });
      assertEquals(
          List.of(b),
          squareRunners(),
          "the re-sent squares went back to B, no copy ever started on C: " + TestTasks.runs);

      TestTasks.release("four");
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
