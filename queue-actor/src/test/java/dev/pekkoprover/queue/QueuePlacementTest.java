package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.ddata.ReplicatorSettings;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;

/**
 * {@link QueuePlacement} against the shard coordinator's view (the regions registered and their
 * shards), in a one-node cluster with role queue so that Pekko's least-shard strategy and the
 * placement flag's replicator run for real. The regions are test probes; a clock of the test's own
 * stands for the wait's bound. {@code QueuePlacementClusterTest} (cluster-config) places a
 * sequencer's entities in a real three-node cluster.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueuePlacementTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "queue-placement",
          ConfigFactory.parseString(
                  """
                  pekko.actor.provider = cluster
                  pekko.remote.artery.canonical.port = 0
                  pekko.cluster.roles = [queue]
                  """)
              .withFallback(TestConfig.config()));

  private final ActorSystem classic = testKit.system().classicSystem();
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final AtomicLong replicators = new AtomicLong();
  private ActorRef regionA;
  private ActorRef regionB;
  private ActorRef regionC;

  @BeforeAll
  void joinItself() {
    Cluster cluster = Cluster.get(testKit.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(MemberStatus.up(), cluster.selfMember().status());
              return null;
            });
    regionA = Adapter.toClassic(testKit.createTestProbe().ref());
    regionB = Adapter.toClassic(testKit.createTestProbe().ref());
    regionC = Adapter.toClassic(testKit.createTestProbe().ref());
  }

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /** A strategy with the test's clock and a replicator of its own (each test its own flag). */
  private QueuePlacement strategy(
      int queueNodes, org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator) {
    QueuePlacement placement =
        QueuePlacement.forTest(
            new QueuePlacement.Settings(queueNodes, Duration.ofSeconds(60)),
            testKit.system(),
            replicator,
            now::get);
    placement.start(); // reads the placement flag
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertTrue(placement.flagReadDone());
              return null;
            });
    return placement;
  }

  private org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator() {
    return testKit.spawn(
        Replicator.behavior(ReplicatorSettings.apply(classic).withRole("queue")),
        "replicator-" + replicators.incrementAndGet());
  }

  /** The coordinator's view: each region with the shards it holds, in the order given. */
  @SafeVarargs
  private static scala.collection.immutable.Map<ActorRef, IndexedSeq<String>> regions(
      java.util.Map.Entry<ActorRef, List<String>>... entries) {
    java.util.Map<ActorRef, IndexedSeq<String>> map = new LinkedHashMap<>();
    for (var entry : entries) {
      map.put(
          entry.getKey(),
          scala.jdk.javaapi.CollectionConverters.asScala(entry.getValue()).toIndexedSeq());
    }
    return scala.collection.immutable.Map$.MODULE$.from(
        scala.jdk.javaapi.CollectionConverters.asScala(map));
  }

  private static java.util.Map.Entry<ActorRef, List<String>> holding(
      ActorRef region, String... shards) {
    return java.util.Map.entry(region, List.of(shards));
  }

  private static ActorRef placed(Future<ActorRef> allocation) {
    assertTrue(allocation.isCompleted(), "the shard is placed at once");
    return allocation.value().get().get();
  }

  @Test
  void aNewClusterPlacesItsFirstShardOnlyOnceEnoughQueueRegionsRegistered() throws Exception {
    QueuePlacement placement = strategy(3, replicator());
    LoggingTestKit.info("the queue's entities wait until 3 queue nodes have registered")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              assertFalse(
                  placement
                      .allocateShard(regionA, "block-proving", regions(holding(regionA)))
                      .isCompleted(),
                  "one queue node of three");
              now.addAndGet(Duration.ofSeconds(2).toNanos());
              assertFalse(
                  placement
                      .allocateShard(
                          regionA, "block-proving", regions(holding(regionA), holding(regionB)))
                      .isCompleted(),
                  "two of three");
              return null;
            });
    ActorRef first =
        LoggingTestKit.info("placing the queue's entities over the 3 queue nodes registered")
            .expect(
                testKit.system(),
                () ->
                    placed(
                        placement.allocateShard(
                            regionA,
                            "block-proving",
                            regions(holding(regionA), holding(regionB), holding(regionC)))));
    assertTrue(List.of(regionA, regionB, regionC).contains(first));
    // each further shard goes to the region with the fewest
    assertEquals(
        regionC,
        placed(
            placement.allocateShard(
                regionA,
                "registration",
                regions(
                    holding(regionA, "block-proving"), holding(regionB, "tx"), holding(regionC)))));
    // and, once placed, nothing waits any more, however few regions there are
    assertEquals(
        regionA, placed(placement.allocateShard(regionA, "merge", regions(holding(regionA)))));
  }

  @Test
  void aCoordinatorThatFindsShardsPlacedDoesNotWait() throws Exception {
    QueuePlacement placement = strategy(3, replicator()); // a coordinator that took over
    assertEquals(
        regionB,
        placed(
            placement.allocateShard(
                regionA, "merge", regions(holding(regionA, "block-proving"), holding(regionB)))));
  }

  @Test
  void afterMaxWaitTheEntitiesArePlacedOnTheQueueNodesThereAre() throws Exception {
    QueuePlacement placement = strategy(3, replicator());
    assertFalse(placement.allocateShard(regionA, "tx", regions(holding(regionA))).isCompleted());
    now.addAndGet(Duration.ofSeconds(59).toNanos());
    assertFalse(
        placement.allocateShard(regionA, "tx", regions(holding(regionA))).isCompleted(),
        "59 s of 60");
    now.addAndGet(Duration.ofSeconds(1).toNanos());
    ActorRef region =
        LoggingTestKit.warn("only 1 of 3 queue nodes registered with the shard coordinator within")
            .expect(
                testKit.system(),
                () -> placed(placement.allocateShard(regionA, "tx", regions(holding(regionA)))));
    assertEquals(regionA, region);
  }

  @Test
  void aLaterCoordinatorOfAClusterThatPlacedBeforeDoesNotWaitEvenWithEveryShardGone()
      throws Exception {
    var replicator = replicator();
    QueuePlacement first = strategy(3, replicator);
    placed(
        first.allocateShard(
            regionA, "tx", regions(holding(regionA), holding(regionB), holding(regionC))));
    // the node that held every shard went, the coordinator moved: the regions left hold nothing
    QueuePlacement later = strategy(3, replicator);
    ActorRef region =
        LoggingTestKit.info("this cluster placed queue entities before")
            .expect(
                testKit.system(),
                () ->
                    testKit
                        .createTestProbe()
                        .awaitAssert(
                            Duration.ofSeconds(5),
                            () -> {
                              now.addAndGet(Duration.ofSeconds(1).toNanos()); // reads again
                              return placed(
                                  later.allocateShard(regionB, "tx", regions(holding(regionB))));
                            }));
    assertEquals(regionB, region);
  }

  @Test
  void oneQueueNodePlacesAtOnceAndStillTellsLaterCoordinatorsOfASetting() {
    var replicator = replicator();
    QueuePlacement placement = strategy(1, replicator);
    assertEquals(
        regionA, placed(placement.allocateShard(regionA, "tx", regions(holding(regionA)))));
    // a node restarted with --queue-nodes 3 takes the coordinator over, every shard gone
    QueuePlacement later = strategy(3, replicator);
    ActorRef region =
        LoggingTestKit.info("this cluster placed queue entities before")
            .expect(
                testKit.system(),
                () -> placed(later.allocateShard(regionB, "tx", regions(holding(regionB)))));
    assertEquals(regionB, region);
  }

  private static org.apache.pekko.cluster.Member member(int port, String role, boolean up) {
    org.apache.pekko.cluster.Member joining =
        new org.apache.pekko.cluster.Member(
            new org.apache.pekko.cluster.UniqueAddress(
                new org.apache.pekko.actor.Address("pekko", "p", "127.0.0.1", port), (long) port),
            0,
            MemberStatus.joining(),
            scala.jdk.javaapi.CollectionConverters.asScala(java.util.Set.of(role, "dc-default"))
                .toSet(),
            org.apache.pekko.util.Version.Zero());
    return up ? joining.copyUp(port) : joining;
  }

  @Test
  void nodesSayTheFirstPlacementWaitsWhileFewerQueueNodesAreUpThanTheSetting() {
    var members =
        List.of(member(1, "queue", true), member(2, "queue", false), member(3, "worker", true));
    assertEquals(
        "the queues are placed once 3 queue nodes are Up (--queue-nodes,"
            + " prover.queue.cluster.placement.queue-nodes; 1 are), so that a new cluster spreads"
            + " its task types over them",
        QueuePlacement.firstPlacementWait(members, "queue", 3));
    assertEquals(null, QueuePlacement.firstPlacementWait(members, "queue", 1), "no setting");
    assertEquals(
        null,
        QueuePlacement.firstPlacementWait(
            List.of(member(1, "queue", true), member(2, "queue", true)), "queue", 2));
  }

  @Test
  void theSettingsAreRead() {
    QueuePlacement.Settings settings =
        QueuePlacement.Settings.fromConfig(
            ConfigFactory.parseString("prover.queue.cluster.placement.queue-nodes = 3")
                .withFallback(ConfigFactory.load()));
    assertEquals(new QueuePlacement.Settings(3, Duration.ofSeconds(60)), settings);
    var bad =
        org.junit.jupiter.api.Assertions.assertThrows(
            com.typesafe.config.ConfigException.class,
            () ->
                QueuePlacement.Settings.fromConfig(
                    ConfigFactory.parseString("prover.queue.cluster.placement.queue-nodes = 0")
                        .withFallback(ConfigFactory.load())));
    assertTrue(bad.getMessage().contains("queue-nodes"), bad.getMessage());
  }
}
