package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 14, item 4: a joining worker node's workers register through a queue node's front ({@link
 * dev.pekkoprover.protocol.QueueCommand.RelayOffer}), not through the node's own shard region
 * proxy, which the coordinator takes only once its node has seen the new member Up. Here the
 * joining node's proxy cannot route for minutes: its registration with the coordinator is refused
 * while it is Joining and its next attempt is 7.5 minutes later ({@code retry-interval = 1h}, the
 * first retry an eighth of it). Its worker still becomes Ready and proves, and keeps doing so after
 * the queue node it announced through leaves (it then announces through the other).
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnnouncementRelayTest {
  private static final String PROXY_NEVER_TAKEN = "pekko.cluster.sharding.retry-interval = 1h";

  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  @Test
  void aJoiningNodesWorkerRegistersBeforeItsRegionProxyCanRoute() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode first = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode worker =
          cluster.start(
              "B",
              "worker",
              PROXY_NEVER_TAKEN,
              b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      worker.ready().toCompletableFuture().get(20, TimeUnit.SECONDS); // throws if not Ready
      assertEquals(Num.of(30), sumOfSquares(sequencer, "first"), "sum of squares 1..4");
      assertEquals(Set.of("B-w1"), squaredBy(), "the only worker proved every square");

      // B announced through Q, the only queue node then; R's offer comes later and is not taken.
      // When Q leaves, its entities start again empty on R, and B must announce through R
      cluster.start("R", "queue", "", b -> b.catalog(catalog));
      ClusterNodes.leave(first);
      TestTasks.reset();
      assertEquals(Num.of(30), sumOfSquares(sequencer, "after-leave"), "after Q left");
      assertEquals(Set.of("B-w1"), squaredBy(), "B's worker is known on R");
    }
  }

  /**
   * A worker node that joined a moment before a queue node began to shut down is not told at the
   * start of the shutdown that the queue node's front withdraws as its relay: the queue node has
   * not seen it join. Its announcements then went on into a shard region that handed its shards off
   * and stopped, until the queue node was seen leaving (the flake of {@code
   * QueueNodeLeavesMidTaskTest}: an idle worker that joined 60 ms before was unknown to the new
   * entities). The leaving front now tells such a node at its first message, once. Here the "worker
   * node" is an actor system that is not a member at all, so the shutdown's own withdrawal cannot
   * reach it; what answers at its queue front's path is a probe.
   */
  @Test
  void aNodeTheLeavingQueueNodeDidNotSeeJoinIsToldAtItsFirstMessage() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode leaving = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode staying = cluster.start("R", "queue", "", b -> b.catalog(catalog));
      ClusterNodes.awaitUp(staying);
      ActorTestKit stranger =
          ActorTestKit.create(ClusterNodes.SYSTEM, ClusterNodes.config("worker", ""));
      try {
        TestProbe<QueueCommand> strangersFront = stranger.createTestProbe();
        stranger.spawn(forwardingTo(strangersFront.getRef()), "queue");
        TestProbe<WorkerCommand> strangersWorker = stranger.createTestProbe();
        ActorRef<WorkerCommand> worker =
            ActorRefResolver.get(leaving.system())
                .resolveActorRef(
                    ActorRefResolver.get(stranger.system())
                        .toSerializationFormat(strangersWorker.getRef()));
        WorkerServes announcement =
            new WorkerServes(
                worker,
                "S-w1",
                "i1",
                Set.of("square"),
                1,
                WorkerState.READY,
                Set.of("square"),
                CatalogFingerprint.of(catalog));

        // Q's shutdown is held after its hand-off, its front still there
        CompletableFuture<Done> window = ClusterNodes.holdAfterHandOff(leaving);
        CompletableFuture<Void> stopped =
            CompletableFuture.runAsync(() -> ClusterNodes.terminate(leaving));
        try {
          strangersFront.awaitAssert(
              Duration.ofSeconds(10),
              () -> {
                assertTrue(
                    CoordinatedShutdown.get(leaving.system()).getShutdownReason().isPresent(),
                    "Q shuts down");
                return null;
              });
          leaving.queue().tell(announcement);
          QueueCommand.RelayWithdrawn told =
              strangersFront.expectMessageClass(
                  QueueCommand.RelayWithdrawn.class, Duration.ofSeconds(10));
          assertEquals(
              Cluster.get(leaving.system()).selfMember().address(),
              told.front().path().address(),
              "Q's front withdrew");
          // once per node: the next announcement (and a load report) tell it nothing more
          leaving.queue().tell(announcement);
          leaving.queue().tell(new QueueCommand.WorkerLoad(worker, "S-w1", "i1", List.of(), true));
          strangersFront.expectNoMessage(Duration.ofMillis(500));
        } finally {
          window.complete(Done.getInstance());
        }
        stopped.get(30, TimeUnit.SECONDS);
      } finally {
        stranger.shutdownTestKit();
      }
    }
  }

  /**
   * A worker node that leaves (SIGTERM, scale-in) sees every member removed, itself included, as
   * its own cluster shuts down. Its front took that for the loss of its queue node and said at INFO
   * that its workers had no queue front, while the queue node was fine: an operator reading a
   * worker node's exit was told of a queue node lost. It now says nothing of it while its node
   * leaves.
   */
  @Test
  void aWorkerNodeLeavingDoesNotSayItsQueueNodeWasLost() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode queue =
          cluster.start(
              "Q",
              "sequencer,queue",
              "",
              b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode worker =
          cluster.start(
              "B", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 1)));
      // Ready: B's worker registered, through its front's relay to Q (the only queue node)
      worker.ready().toCompletableFuture().get(20, TimeUnit.SECONDS);
      LoggingTestKit.info("have no queue front")
          .withOccurrences(0)
          .expect(
              queue.system(),
              () -> {
                ClusterNodes.terminate(worker);
                return null;
              });
    }
  }

  /** Passes every message on to {@code target}. */
  private static Behavior<QueueCommand> forwardingTo(ActorRef<QueueCommand> target) {
    return Behaviors.receiveMessage(
        message -> {
          target.tell(message);
          return Behaviors.same();
        });
  }

  private static Num sumOfSquares(ProverNode sequencer, String flowId) {
    List<Num> leaves = List.of(Num.of(1), Num.of(2), Num.of(3), Num.of(4));
    return TestNodes.await(
        sequencer.run(
            flowId,
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
  }

  private static Set<String> squaredBy() {
    return TestTasks.runs.stream()
        .filter(run -> run.taskType().equals("square"))
        .map(TestTasks.Run::workerId)
        .collect(Collectors.toSet());
  }
}
