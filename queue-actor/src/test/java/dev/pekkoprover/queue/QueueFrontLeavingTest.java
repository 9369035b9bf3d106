package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.testing.ClusterKits;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Leave;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A front on a node that has begun to shut down routes no read-only query into the shard region: a
 * message for a shard without a home stays buffered there and holds the region's graceful shutdown
 * for its whole phase timeout on the last queue node (FaultFreeClusterIT's sequencer node, whose
 * autoscale reporter and registration check ask every 10 s). On the last queue node, once it
 * leaves, nothing at all is routed there (the workers' announcements and load reports, relayed
 * every 5 s, did the same); while another queue node is Up, commands still are. The cases with
 * membership run actor systems with the cluster provider that join each other in this JVM.
 */
@ExtendWith(LogCapturingExtension.class)
class QueueFrontLeavingTest {
  private final ActorTestKit testKit = ActorTestKit.create("front-leaving", TestConfig.config());
  private final CompletableFuture<Done> holdShutdown = new CompletableFuture<>();
  private final List<ActorTestKit> clusterKits = new java.util.ArrayList<>();

  @AfterEach
  void stop() {
    holdShutdown.complete(Done.getInstance());
    testKit.shutdownTestKit();
    clusterKits.forEach(ActorTestKit::shutdownTestKit);
  }

  private static final FrontSettings SETTINGS =
      new FrontSettings(Map.of(), 100, 1 << 20, 1 << 20, Duration.ofSeconds(30));

  /** A cluster member with role queue, Up: joined to itself, or to {@code seed}'s cluster. */
  private ActorTestKit queueNode(ActorTestKit seed) {
    ActorTestKit kit =
        ClusterKits.member("front-leaving-cluster", "pekko.cluster.roles = [queue]", seed);
    clusterKits.add(kit);
    return kit;
  }

  private static void awaitUp(ActorTestKit kit, int members) {
    ClusterKits.awaitUp(kit, members);
  }

  /** Begins {@code kit}'s CoordinatedShutdown and holds it in its first phase. */
  private void beginLeaving(ActorTestKit kit) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(kit.system());
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "hold", () -> holdShutdown);
    shutdown.run(CoordinatedShutdown.unknownReason());
    kit.createTestProbe()
        .awaitAssert(
            () -> {
              assertEquals(true, shutdown.getShutdownReason().isPresent());
              return null;
            });
  }

  private static QueueCommand.WorkerServes announcement(TestProbe<WorkerCommand> worker) {
    return new QueueCommand.WorkerServes(worker.getRef(), "w1", "i1", Set.of("square", "add"), 1);
  }

  @Test
  void theLastQueueNodeLeavingRoutesNothingMoreIntoTheRegion() {
    ActorTestKit node = queueNode(null);
    awaitUp(node, 1);
    TestProbe<ShardingEnvelope<QueueCommand>> region = node.createTestProbe();
    ActorRef<QueueCommand> front =
        node.spawn(QueueFront.create(region.getRef(), catalog, SETTINGS, "queue"));
    TestProbe<WorkerCommand> worker = node.createTestProbe();
    front.tell(announcement(worker));
    region.receiveSeveralMessages(2); // before: one per entity of its types

    beginLeaving(node);
    LoggingTestKit.info("no other node with role queue is Up: messages for the queue's entities")
        .withOccurrences(1)
        .expect(
            node.system(),
            () -> {
              front.tell(announcement(worker));
              front.tell(new QueueCommand.WorkerLoad(worker.getRef(), "w1", "i1", List.of(), true));
              front.tell(new QueueCommand.CancelFlow("f"));
              return null;
            });
    region.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void whileAnotherQueueNodeIsUpALeavingNodesFrontStillRoutesCommands() {
    ActorTestKit node = queueNode(null);
    queueNode(node);
    awaitUp(node, 2); // as the leaving node sees it: what its front goes by
    TestProbe<ShardingEnvelope<QueueCommand>> region = node.createTestProbe();
    ActorRef<QueueCommand> front =
        node.spawn(QueueFront.create(region.getRef(), catalog, SETTINGS, "queue"));
    TestProbe<WorkerCommand> worker = node.createTestProbe();

    beginLeaving(node);
    front.tell(announcement(worker));
    region.receiveSeveralMessages(2); // the other queue node's region takes the shards
    front.tell(new QueueCommand.CancelFlow("f"));
    region.receiveSeveralMessages(catalog.names().size());
  }

  /**
   * A worker node removed, then a queue node removed before the worker's Terminated came: the front
   * forgets the removed node's workers at once, and repeats only the announcements of the workers
   * still there. It used to forget the worker's types and keep its last announcement, and the queue
   * node's removal then failed on the missing types (a NullPointerException that restarted the
   * front of a downed node, in a trial).
   */
  @Test
  void aQueueNodeRemovedAfterAWorkerNodeRepeatsOnlyTheAnnouncementsOfWorkersStillThere() {
    ActorTestKit node = queueNode(null);
    ActorTestKit other = queueNode(node);
    awaitUp(node, 2);
    TestProbe<ShardingEnvelope<QueueCommand>> region = node.createTestProbe();
    ActorRef<QueueCommand> front =
        node.spawn(QueueFront.create(region.getRef(), catalog, SETTINGS, "queue"));
    // a worker on the other node, as this node refers to it
    ActorRef<WorkerCommand> gone =
        ActorRefResolver.get(node.system())
            .resolveActorRef(
                ActorRefResolver.get(other.system())
                    .toSerializationFormat(other.<WorkerCommand>createTestProbe().getRef()));
    TestProbe<WorkerCommand> staying = node.createTestProbe();
    front.tell(new QueueCommand.WorkerServes(gone, "w1", "i1", Set.of("square", "add"), 1));
    front.tell(
        new QueueCommand.WorkerServes(staying.getRef(), "w2", "i2", Set.of("square", "add"), 1));
    region.receiveSeveralMessages(4);

    Address otherAddress = Cluster.get(other.system()).selfMember().address();
    // the front survives (the old code's failure came before or after the staying worker's
    // repetition, as the map's order had it)
    List<ShardingEnvelope<QueueCommand>> repeated =
        LoggingTestKit.error(NullPointerException.class)
            .withOccurrences(0)
            .expect(
                node.system(),
                () -> {
                  front.tell(new QueueFront.MemberChanged(removed(otherAddress, "worker")));
                  front.tell(
                      new QueueFront.MemberChanged(
                          removed(
                              new Address("pekko", "front-leaving-cluster", "127.0.0.1", 1),
                              "queue")));
                  return region.receiveSeveralMessages(2);
                });
    for (ShardingEnvelope<QueueCommand> envelope : repeated) {
      assertEquals(
          staying.getRef(),
          ((QueueCommand.WorkerServes) envelope.message()).worker(),
          "only the worker still there is announced again");
    }
    region.expectNoMessage(Duration.ofMillis(300));
    // and the front still answers: a round trip after the two removals (the old code's failure
    // stopped it, whichever worker the map gave first)
    TestProbe<dev.pekkoprover.protocol.TaskOutcome> flow = node.createTestProbe();
    front.tell(
        new QueueCommand.Enqueue(
            List.of(
                new dev.pekkoprover.protocol.TaskEnvelope(
                    "x", "f", "run-1", "no-such-type", 1, TestTasks.Num.of(1))),
            flow.getRef()));
    flow.expectMessageClass(dev.pekkoprover.protocol.TaskOutcome.Rejected.class);
  }

  /**
   * While a queue node is unreachable, leaving or just removed, the front's gatherings of its
   * entities' answers are partial for a known reason, which their line names at INFO instead of a
   * WARN (a trial's every node logged the WARN while a queue node was lost).
   */
  @Test
  void partialAnswersAreExpectedWhileAQueueNodeIsUnreachableLeavingOrJustRemoved() {
    Address a = new Address("pekko", "c", "127.0.0.1", 2551);
    Address b = new Address("pekko", "c", "127.0.0.1", 2552);
    Member up = member(a, "queue", MemberStatus.up());
    Member leaving = member(b, "queue", MemberStatus.leaving());
    Member worker = member(b, "worker", MemberStatus.leaving());
    long s = 1_000_000_000L;
    assertEquals(null, QueueFront.queueNodeInTransit(List.of(up), List.of(), "queue", 0, 100 * s));
    assertEquals(
        "queue node pekko://c@127.0.0.1:2551 is unreachable",
        QueueFront.queueNodeInTransit(List.of(up), List.of(up), "queue", 0, 100 * s));
    assertEquals(
        "queue node pekko://c@127.0.0.1:2552 is Leaving",
        QueueFront.queueNodeInTransit(List.of(up, leaving), List.of(), "queue", 0, 100 * s));
    assertEquals(
        null,
        QueueFront.queueNodeInTransit(List.of(up, worker), List.of(worker), "queue", 0, 100 * s),
        "a worker node is not a queue node");
    assertEquals(
        "a queue node was removed less than 30 s ago",
        QueueFront.queueNodeInTransit(List.of(up), List.of(), "queue", 80 * s, 100 * s));
    assertEquals(
        null, QueueFront.queueNodeInTransit(List.of(up), List.of(), "queue", 60 * s, 100 * s));
  }

  private static Member member(Address address, String role, MemberStatus status) {
    scala.collection.immutable.Set<String> roles =
        scala.jdk.javaapi.CollectionConverters.asScala(Set.of(role, "dc-default")).toSet();
    return new Member(new UniqueAddress(address, 7L), 1, status, roles, Version.Zero());
  }

  private static ClusterEvent.MemberRemoved removed(Address address, String role) {
    return new ClusterEvent.MemberRemoved(
        member(address, role, MemberStatus.removed()), MemberStatus.down());
  }

  @Test
  void inItsFirstMinutesANodeTakesPartialAnswersForStartingQueuesUntilItHasHadThemAll() {
    String placing = "waiting for 3 queue nodes";
    assertEquals(placing, QueueFront.inFirstMinutes(placing, false));
    assertEquals(placing, QueueFront.inFirstMinutes(placing, true));
    // every queue node Up, the entities not yet started: normal in a forming cluster (a trial's
    // standby logged a WARN for it)
    assertEquals(QueueFront.STARTING, QueueFront.inFirstMinutes(null, false));
    // once all answered, a partial answer with no known reason is a WARN again
    assertEquals(null, QueueFront.inFirstMinutes(null, true));
  }

  /**
   * Once this node's cluster has shut down, its view of the members is empty: the line must not say
   * that no other queue node is Up (a trial read that beside one), but that this node has left.
   */
  @Test
  void aNodeWhoseClusterHasShutDownSaysItLeftNotThatNoOtherQueueNodeIsUp() {
    ActorTestKit node = queueNode(null);
    queueNode(node);
    awaitUp(node, 2);
    TestProbe<ShardingEnvelope<QueueCommand>> region = node.createTestProbe();
    ActorRef<QueueCommand> front =
        node.spawn(QueueFront.create(region.getRef(), catalog, SETTINGS, "queue"));
    TestProbe<WorkerCommand> worker = node.createTestProbe();
    // the actor system stays until the test ends; the cluster leaves and shuts down before that
    CoordinatedShutdown.get(node.system())
        .addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "hold", () -> holdShutdown);
    Cluster cluster = Cluster.get(node.system());
    cluster.manager().tell(Leave.create(cluster.selfMember().address()));
    node.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(true, cluster.isTerminated());
              return null;
            });
    LoggingTestKit.info("this node has left the cluster: messages for the queue's entities")
        .withOccurrences(1)
        .expect(
            node.system(),
            () -> {
              front.tell(announcement(worker));
              front.tell(new QueueCommand.CancelFlow("f"));
              return null;
            });
    region.expectNoMessage(Duration.ofMillis(300));
  }

  private final TaskCatalog catalog =
      TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE);

  @Test
  void whileTheNodeLeavesQueriesAreAnsweredWithoutTheRegionAndCommandsStillGoThere() {
    TestProbe<ShardingEnvelope<QueueCommand>> region = testKit.createTestProbe();
    ActorRef<QueueCommand> front =
        testKit.spawn(QueueFront.create(region.getRef(), catalog, SETTINGS));
    TestProbe<FleetView> fleet = testKit.createTestProbe();
    front.tell(new QueueCommand.GetFleet(fleet.getRef()));
    int entities = catalog.names().size();
    region.receiveSeveralMessages(entities); // before: each entity is asked

    // CoordinatedShutdown begins and is held in its first phase, before the region's hand-off
    beginLeaving(testKit);

    front.tell(new QueueCommand.GetFleet(fleet.getRef()));
    FleetView view = fleet.expectMessageClass(FleetView.class, Duration.ofSeconds(1));
    assertEquals(List.of(), view.workers(), "an empty view, at once (the stats timeout is 30 s)");
    assertEquals(QueueFront.LEAVING, view.partialBecause(), "saying why");
    TestProbe<QueueStats> stats = testKit.createTestProbe();
    front.tell(new QueueCommand.GetStats(stats.getRef()));
    stats.expectMessageClass(QueueStats.class, Duration.ofSeconds(1));
    TestProbe<MissingTasks> missing = testKit.createTestProbe();
    front.tell(new QueueCommand.CheckHeld("square", List.of("t1"), missing.getRef()));
    missing.expectNoMessage(Duration.ofMillis(200));
    region.expectNoMessage(Duration.ofMillis(200));

    front.tell(new QueueCommand.CancelFlow("f"));
    region.receiveSeveralMessages(entities); // a command still goes to every entity
  }
}
