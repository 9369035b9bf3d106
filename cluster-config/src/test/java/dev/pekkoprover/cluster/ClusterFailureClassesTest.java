package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.queue.ShardedTaskQueue;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 8, cases 2, 4 and 6 in a cluster of actor systems in one JVM: a worker's concurrency is
 * shared by the queue entities of all its types (no decline storm); a message lost between nodes
 * ends in a clear failure and frees the slot it took; two workers with the same id are refused with
 * an error naming both nodes.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterFailureClassesTest {
  private ClusterNodes cluster;

  /**
   * A shape behind an interface: Jackson writes it, but cannot read it back without type
   * information.
   */
  interface Shape {}

  record Circle(double radius) implements Shape, CborSerializable {}

  record Drawing(Shape shape) implements CborSerializable {}

  /** A task whose input serialises on the sender and cannot be read on any other node. */
  static final class Draw extends NamedTaskType<Drawing, Num> {
    static final Draw INSTANCE = new Draw();

    Draw() {
      super("draw", Drawing.class, Num.class);
    }

    @Override
    public Num compute(Drawing input, TaskContext context) {
      return Num.of(1);
    }
  }

  private final TaskCatalog catalog =
      TaskCatalog.of(
          TestTasks.Square.INSTANCE,
          TestTasks.Add.INSTANCE,
          TestTasks.Compile.INSTANCE,
          TestTasks.Echo.INSTANCE,
          Draw.INSTANCE);

  @BeforeEach
  void start() {
    TestTasks.reset();
    cluster = new ClusterNodes();
  }

  @AfterEach
  void stop() {
    TestTasks.reset();
    cluster.close();
  }

  private ProverNode sequencer(String overrides) {
    return cluster.start(
        "seq",
        "sequencer,queue",
        overrides,
        builder -> builder.catalog(catalog).sequencer(TestNodes.compilePlan()));
  }

  private ProverNode worker(String id, String overrides, int concurrency) {
    return cluster.start(
        id,
        "worker",
        overrides,
        builder ->
            builder.nodeId(id).catalog(catalog).workers(WorkerGroup.allTypes(1, concurrency)));
  }

  /**
   * A sequencer node dies with its flow's tasks queued on another node (killed: its actor system
   * stops without leaving, and the queue node downs it): once it is removed, the queue entity drops
   * the waiting tasks and cancels the one in flight on the worker, instead of keeping the worker on
   * tasks whose results no one can take until a new sequencer run begins (a trial's worker computed
   * 11,460 of them). Without it the three wait there for good.
   */
  @Test
  void theTasksOfASequencerNodeThatWasRemovedAreDroppedAndItsComputeCancelled() throws Exception {
    // two stateful nodes (a sequencer node is stateful too): keep-majority's tie would keep the
    // side of the lower address, the sequencer's in some runs (a CI run downed the queue node); the
    // oldest, the queue node started first, keeps its side here
    String oldestKeeps = "pekko.cluster.split-brain-resolver.active-strategy = keep-oldest\n";
    ProverNode queueNode =
        cluster.start("q", "queue,stateful", oldestKeeps, builder -> builder.catalog(catalog));
    ProverNode sequencer =
        cluster.start(
            "seq",
            "sequencer",
            // a crash: the actor system stops without leaving the cluster
            oldestKeeps + "pekko.coordinated-shutdown.run-by-actor-system-terminate = off",
            builder -> builder.catalog(catalog).sequencer(TestNodes.compilePlan()));
    ProverNode worker = worker("w", oldestKeeps, 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(worker.ready());
    ActorTestKit kit = ActorTestKit.create(queueNode.system());

    FlowLogic<Num> holdAll =
        scope -> {
          for (int i = 1; i <= 4; i++) {
            scope.push(TestTasks.Square.INSTANCE, new Num(i, "hold:gone"), n -> {});
          }
        };
    sequencer.run("held", holdAll);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              QueueStats.TypeStats squares = TestNodes.stats(queueNode).of("square");
              assertEquals(1, squares.inFlight(), "one computes: " + squares);
              assertEquals(3, squares.pending(), "three wait: " + squares);
              return null;
            });

    // unreachable first: the three waiting are held back (the worker starts none of them); then
    // removed: they are dropped and the compute cancelled
    LoggingTestKit.info("is unreachable: 3 waiting task(s) of its flows held back here")
        .withLoggerName(ShardedTaskQueue.class.getName())
        .expect(
            queueNode.system(),
            () ->
                LoggingTestKit.info(
                        "left the cluster with the flows of 4 task(s) here: 3 waiting dropped, 1 in")
                    .withLoggerName(ShardedTaskQueue.class.getName())
                    .expect(
                        queueNode.system(),
                        () -> {
                          sequencer.system().terminate();
                          // unreachable, downed by the queue node, removed: then the tasks go
                          return kit.createTestProbe()
                              .awaitAssert(
                                  Duration.ofSeconds(30),
                                  () -> {
                                    QueueStats.TypeStats squares =
                                        TestNodes.stats(queueNode).of("square");
                                    assertEquals(
                                        0,
                                        squares.pending() + squares.inFlight(),
                                        squares.toString());
                                    assertEquals(
                                        0,
                                        TestTasks.runningNow("w-w1"),
                                        "the held compute was cancelled");
                                    return null;
                                  });
                        }));
    assertEquals(
        1,
        TestTasks.runs.stream().filter(run -> run.taskType().equals("square")).count(),
        "no square ran after the first: " + TestTasks.runs);
  }

  private static long declines(QueueStats stats) {
    return stats.types().values().stream().mapToLong(QueueStats.TypeStats::declined).sum();
  }

  /**
   * Case 2: one worker node, concurrency 1, serving every type. A square holds the worker's one
   * slot for 3 s; a merge (an {@code add}) pushed meanwhile by another flow waits for that slot in
   * its own entity, or on the worker, which keeps it until the slot is free: no decline, no
   * redelivery, never two tasks at once.
   *
   * <p>The held task and the merge are pushed by two flows, one after the other, so that the merge
   * surely comes while the slot is taken (a single reduction's leaves reach the worker in an order
   * the shards choose, and a held leaf dispatched early would stop its sibling first).
   */
  @Test
  void aWorkersSlotIsSharedByTheEntitiesOfAllItsTypesAndTheMergeWaitsWithoutADecline()
      throws Exception {
    ProverNode sequencer = sequencer("");
    ProverNode worker = worker("w", "", 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(worker.ready());
    ActorTestKit kit = ActorTestKit.create(sequencer.system());

    FlowLogic<Num> holder =
        scope -> scope.push(TestTasks.Square.INSTANCE, new Num(3, "hold:third"), scope::complete);
    CompletableFuture<Num> held = sequencer.run("holder", holder).toCompletableFuture();
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(
                  1,
                  TestNodes.stats(sequencer).of("square").inFlight(),
                  "the square holds the worker's one slot");
              return null;
            });

    FlowLogic<Num> merge =
        scope ->
            scope.push(TestTasks.Add.INSTANCE, new Pair(Num.of(1), Num.of(4)), scope::complete);
    CompletableFuture<Num> merged = sequencer.run("merge", merge).toCompletableFuture();
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              QueueStats stats = TestNodes.stats(sequencer);
              assertEquals(1, stats.of("square").inFlight(), "the square still holds the slot");
              assertEquals(
                  1, stats.of("add").pending() + stats.of("add").inFlight(), "the merge waits");
              return null;
            });
    // the scenario: the square keeps the slot for 3 s while the merge waits in another entity
    CompletableFuture.delayedExecutor(3, TimeUnit.SECONDS)
        .execute(() -> TestTasks.release("third"));

    assertEquals(Num.of(9), held.get(30, TimeUnit.SECONDS));
    assertEquals(Num.of(5), merged.get(30, TimeUnit.SECONDS));
    QueueStats stats = TestNodes.stats(sequencer);
    assertEquals(0, declines(stats), "no decline: " + stats);
    assertEquals(
        0, stats.of("add").redelivered() + stats.of("square").redelivered(), stats.toString());
    assertEquals(1, stats.of("add").completed(), stats.toString());
    assertEquals(1, TestNodes.stats(sequencer).of("square").completed(), stats.toString());
    assertEquals(1, TestTasks.maxConcurrent.get("w-w1"), "never two tasks at once on the worker");
  }

  /**
   * Two entities hand a worker its one free slot at once: a square and an add pushed together, to
   * the only worker, of concurrency 1. The one that comes second waits there for the slot (or, had
   * the worker's load report reached its entity first, in its entity). When another worker joins,
   * the waiting task is withdrawn from the busy worker and runs on the new one while the first
   * still holds the slot. (It used to wait behind the other entity's compute while the new worker
   * stayed idle.) Nothing is spent: each task computes once, its result counted once.
   */
  @Test
  void aTaskWhoseSlotAnotherEntityTookGoesToAnIdleWorkerNotBehindThatCompute() throws Exception {
    ProverNode sequencer = sequencer("prover.queue.default-lease = 60s"); // holds outlast a join
    ProverNode first = worker("w", "", 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(first.ready());
    ActorTestKit kit = ActorTestKit.create(sequencer.system());

    FlowLogic<Num> both =
        scope -> {
          long[] sum = {0};
          int[] left = {2};
          java.util.function.Consumer<Num> done =
              n -> {
                sum[0] += n.value();
                if (--left[0] == 0) {
                  scope.complete(Num.of(sum[0]));
                }
              };
          scope.push(TestTasks.Square.INSTANCE, new Num(3, "hold:race"), done);
          scope.push(TestTasks.Add.INSTANCE, new Pair(new Num(1, "hold:race"), Num.of(4)), done);
        };
    CompletableFuture<Num> result = sequencer.run("race", both).toCompletableFuture();
    java.util.concurrent.atomic.AtomicReference<QueueStats> beforeJoin =
        new java.util.concurrent.atomic.AtomicReference<>();
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(1, raceRuns().size(), "one of them holds the slot: " + TestTasks.runs);
              QueueStats stats = TestNodes.stats(sequencer);
              beforeJoin.set(stats);
              assertEquals(
                  2,
                  stats.of("square").pending()
                      + stats.of("square").inFlight()
                      + stats.of("add").pending()
                      + stats.of("add").inFlight(),
                  "the other waits, on the worker or in its entity: " + stats);
              return null;
            });
    String holder = raceRuns().get(0).taskType();

    ProverNode second = worker("v", "", 1);
    TestNodes.await(second.ready());
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(2, raceRuns().size(), "the other started: " + TestTasks.runs);
              return null;
            });
    List<TestTasks.Run> runs = raceRuns();
    assertEquals(
        List.of(holder, "w-w1"),
        List.of(runs.get(0).taskType(), runs.get(0).workerId()),
        "" + runs);
    assertEquals(
        "v-w1", runs.get(1).workerId(), "on the idle worker, while the first holds: " + runs);
    TestTasks.release("race");

    assertEquals(Num.of(9 + 5), result.get(30, TimeUnit.SECONDS));
    QueueStats stats = TestNodes.stats(sequencer);
    assertEquals(1, stats.of("square").completed(), stats.toString());
    assertEquals(1, stats.of("add").completed(), stats.toString());
    assertEquals(2, raceRuns().size(), "each computed once: " + TestTasks.runs);
    assertEquals(0, stats.of("square").lost() + stats.of("add").lost(), stats.toString());
    QueueStats before = beforeJoin.get();
    boolean waitedOnTheWorker = before.of("square").inFlight() + before.of("add").inFlight() == 2;
    assertEquals(
        waitedOnTheWorker ? 1 : 0,
        declines(stats),
        "withdrawn from the busy worker if it waited there, once: " + before + " then " + stats);
    assertEquals(1, TestTasks.maxConcurrent.get("w-w1"), "never two tasks at once on the worker");
  }

  /** The runs of squares and adds (the compile at start is not one). */
  private static List<TestTasks.Run> raceRuns() {
    return TestTasks.runs.stream()
        .filter(r -> r.taskType().equals("square") || r.taskType().equals("add"))
        .toList();
  }

  /**
   * Case 4, with serialize-messages off as in production: a task input that serialises on the
   * sender but cannot be read on the worker's node fails its flow with a reason saying so, and
   * later work is unaffected.
   */
  @Test
  void anInputThatCannotBeReadOnTheOtherNodeFailsItsFlowAndLaterWorkRuns() throws Exception {
    String production = "pekko.actor.serialize-messages = off";
    ProverNode sequencer = sequencer(production);
    ProverNode worker = worker("w", production, 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(worker.ready());

    FlowLogic<Num> draw =
        scope -> scope.push(Draw.INSTANCE, new Drawing(new Circle(2)), scope::complete);
    String reason = failure(sequencer.run("draw", draw).toCompletableFuture());
    assertTrue(reason.contains("cannot cross a node"), reason);
    assertTrue(reason.contains(Drawing.class.getName()), reason);
    assertTrue(reason.contains("type draw"), reason);

    assertEquals(
        Num.of(9),
        TestNodes.await(
            sequencer.run(
                "after",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(Num.of(3)),
                    TestTasks.Add.INSTANCE,
                    Pair::new))));
  }

  /**
   * Case 4, another way a message can be lost: the payload check is off and a dispatch is over the
   * transport's frame size, so Artery drops it. The worker's load reports never list the task: it
   * is put back as lost in transit, and after max-worker-losses the flow fails with a reason saying
   * so. The slot it took is free again for later work.
   */
  @Test
  void aDispatchTheTransportDropsIsFoundLostFreesItsSlotAndEndsInAClearFailure() throws Exception {
    String settings =
        """
        pekko.actor.serialize-messages = off
        prover.queue.cluster.max-payload-size = 0
        prover.queue.max-worker-losses = 2
        prover.queue.lost-after = 1s
        """;
    ProverNode sequencer = sequencer(settings);
    ProverNode worker = worker("w", settings, 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(worker.ready());

    FlowLogic<TestTasks.Text> big =
        scope ->
            scope.push(
                TestTasks.Echo.INSTANCE, TestTasks.Text.ofSize(3_000_000, false), scope::complete);
    String reason = failure(sequencer.run("big", big).toCompletableFuture());
    assertTrue(reason.contains("lost between nodes"), reason);
    assertTrue(reason.contains("type echo"), reason);
    QueueStats.TypeStats echo = TestNodes.stats(sequencer).of("echo");
    assertEquals(1, echo.lost(), "lost once and put back; lost again and given up: " + echo);
    assertEquals(1, echo.failed(), echo.toString());

    assertEquals(
        Num.of(16),
        TestNodes.await(
            sequencer.run(
                "after",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(Num.of(4)),
                    TestTasks.Add.INSTANCE,
                    Pair::new))));
  }

  /**
   * Case 6: two worker nodes that name their workers alike: the second is refused, with both nodes
   * named.
   */
  @Test
  void twoWorkersWithTheSameIdAreRefusedWithAnErrorNamingBothNodes() throws Exception {
    ProverNode sequencer = sequencer("");
    ProverNode first = worker("same", "", 1);
    TestNodes.await(sequencer.ready());
    TestNodes.await(first.ready());
    ActorTestKit kit = ActorTestKit.create(sequencer.system());
    String firstNode = first.system().address().toString();

    ProverNode second =
        LoggingTestKit.error("worker id same-w1 is announced by")
            .withMessageContains("while a worker of the same id is alive at " + firstNode)
            .withOccurrences(2) // the entities of both types it serves while unregistered
            .expect(kit.system(), () -> worker("same", "", 1));

    assertEquals(
        Num.of(25),
        TestNodes.await(
            sequencer.run(
                "works",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(Num.of(5)),
                    TestTasks.Add.INSTANCE,
                    Pair::new))));
    QueueStats stats = TestNodes.stats(sequencer);
    assertEquals(1, stats.workers(), "the second one never got in: " + stats);
    assertEquals(
        0, stats.of("square").redelivered(), "nothing was taken from the first one as a 'restart'");
  }

  private static String failure(CompletableFuture<?> flow) throws Exception {
    try {
      Object result = flow.get(60, TimeUnit.SECONDS);
      throw new AssertionError("expected the flow to fail, it completed with " + result);
    } catch (ExecutionException e) {
      return assertInstanceOf(FlowFailedException.class, e.getCause()).getMessage();
    }
  }
}
