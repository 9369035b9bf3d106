package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.queue.QueuePlacement;
import dev.pekkoprover.queue.ShardedTaskQueue;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ddata.Flag;
import org.apache.pekko.cluster.ddata.FlagKey;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A new cluster's queue entities spread over the queue nodes that start with it ({@code
 * prover.queue.cluster.placement.queue-nodes}, the node command's {@code --queue-nodes}): the first
 * queue node is Up alone and the sequencer's node uses every task type before the third joins, and
 * yet each of the three hosts entities; without the setting all would start on the first two. A
 * later coordinator does not wait again: the node that hosted it (the first) leaves, and the queue
 * goes on over the two left, fewer than the three the setting names.
 */
@ExtendWith(LogCapturingExtension.class)
class QueuePlacementClusterTest {
  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  /** The number of queue shards each node hosts, by node id. */
  private static Map<String, Integer> shardsByNode(Map<String, ProverNode> nodes) {
    Map<String, Integer> shards = new TreeMap<>();
    nodes.forEach(
        (id, node) -> {
          TestProbe<ShardRegion.CurrentShardRegionState> probe =
              ActorTestKit.create(node.system()).createTestProbe();
          ClusterSharding.get(node.system())
              .shardState()
              .tell(new GetShardRegionState(ShardedTaskQueue.ENTITY, probe.ref()));
          shards.put(id, probe.receiveMessage(Duration.ofSeconds(5)).getShards().size());
        });
    return shards;
  }

  private static Num sumOfSquares(ProverNode sequencer, String name) {
    List<Num> leaves = List.of(Num.of(1), Num.of(2), Num.of(3), Num.of(4));
    return TestNodes.await(
        sequencer.run(
            name,
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
  }

  @Test
  void theEntitiesOfANewClusterSpreadOverItsQueueNodesAndALaterCoordinatorDoesNotWait() {
    String threeQueueNodes = "prover.queue.cluster.placement.queue-nodes = 3";
    try (ClusterNodes cluster = new ClusterNodes()) {
      // Q1 first: the oldest queue node, where the shard coordinator runs
      ProverNode q1 = cluster.start("Q1", "queue", threeQueueNodes, b -> b.catalog(catalog));
      // A's sequencer uses every task type as it starts, while two of three queue nodes are there:
      // the coordinator on Q1 says it waits (without the wait, every entity would be on Q1 and A)
      ProverNode[] joined = new ProverNode[2];
      LoggingTestKit.info("the queue's entities wait until 3 queue nodes have registered")
          .withLoggerName(QueuePlacement.class.getName())
          .expect(
              q1.system(),
              () -> {
                joined[0] =
                    cluster.start(
                        "A",
                        "sequencer,queue",
                        threeQueueNodes,
                        b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
                joined[1] = cluster.start("Q2", "queue", threeQueueNodes, b -> b.catalog(catalog));
                return null;
              });
      ProverNode sequencer = joined[0];
      ProverNode q2 = joined[1];
      ProverNode worker =
          cluster.start(
              "W", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      assertEquals(Num.of(30), sumOfSquares(sequencer, "spread"));

      Map<String, Integer> shards = shardsByNode(Map.of("A", sequencer, "Q1", q1, "Q2", q2));
      shards.forEach(
          (node, count) -> assertFalse(count == 0, "every queue node hosts entities: " + shards));

      // the coordinator moves to A, which finds two queue nodes of the three the setting names:
      // Q1's entities start again there at once (Pekko's min-nr-of-members = 3 would hold them)
      ClusterNodes.leave(q1);
      assertEquals(Num.of(30), sumOfSquares(sequencer, "after-q1-left"));
    }
  }

  /**
   * Every entity lives on one queue node, placed at once (its own setting is 1), and two queue
   * nodes with {@code queue-nodes = 3} join later and hold nothing. That node crashes: the
   * coordinator moves to a node that finds no shard placed anywhere and fewer queue nodes than its
   * setting names, and yet places at once, because the first node's placement set the flag the
   * queue nodes gossip. Without it the queue would wait out {@code max-wait} (60 s).
   */
  @Test
  void aCoordinatorThatFindsEveryShardGoneWithACrashedNodeStillPlacesAtOnce() {
    String threeQueueNodes = "prover.queue.cluster.placement.queue-nodes = 3";
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode q1 =
          cluster.start(
              "Q1",
              "queue",
              // a crash: the actor system stops without leaving the cluster
              "pekko.coordinated-shutdown.run-by-actor-system-terminate = off",
              b -> b.catalog(catalog));
      ProverNode sequencer =
          cluster.start(
              "S", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode worker =
          cluster.start(
              "W", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      assertEquals(Num.of(30), sumOfSquares(sequencer, "on-q1"));
      ProverNode q2 = cluster.start("Q2", "queue", threeQueueNodes, b -> b.catalog(catalog));
      ProverNode q3 = cluster.start("Q3", "queue", threeQueueNodes, b -> b.catalog(catalog));
      assertEquals(Num.of(30), sumOfSquares(sequencer, "still-on-q1"));
      Map<String, Integer> shards = shardsByNode(Map.of("Q1", q1, "Q2", q2, "Q3", q3));
      assertEquals(0, shards.get("Q2") + shards.get("Q3"), "every entity on Q1: " + shards);
      for (ProverNode node : List.of(q2, q3)) { // gossip brought them the first placement's flag
        ActorTestKit.create(node.system())
            .createTestProbe()
            .awaitAssert(
                Duration.ofSeconds(20),
                () -> {
                  assertEquals(true, placedKnown(node));
                  return null;
                });
      }

      LoggingTestKit.info("this cluster placed queue entities before")
          .withLoggerName(QueuePlacement.class.getName())
          .expect(
              q2.system(), // the oldest queue node left: the coordinator's next home
              () -> {
                q1.system().terminate();
                // unreachable, downed, removed; the flows send Q1's tasks again
                assertEquals(Num.of(30), sumOfSquares(sequencer, "after-q1-crashed"));
                return null;
              });
    }
  }

  /** Whether this node's replicator of the placement flag holds it set. */
  private static boolean placedKnown(ProverNode node) {
    ActorRef<Replicator.Command> replicator =
        Adapter.toTyped(
            node.system()
                .classicSystem()
                .actorSelection("/system/" + QueuePlacement.REPLICATOR_NAME)
                .resolveOne(Duration.ofSeconds(5))
                .toCompletableFuture()
                .join());
    Replicator.GetResponse<Flag> answer =
        TestNodes.await(
            AskPattern.<Replicator.Command, Replicator.GetResponse<Flag>>ask(
                replicator,
                replyTo ->
                    new Replicator.Get<>(
                        FlagKey.create("prover-queue-placed"), Replicator.readLocal(), replyTo),
                Duration.ofSeconds(5),
                node.system().scheduler()));
    return answer instanceof Replicator.GetSuccess<Flag> found && found.dataValue().enabled();
  }
}
