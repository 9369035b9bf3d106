package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.QueueCoordinatorWatch;
import dev.pekkoprover.sequencer.NodeProblems;
import dev.pekkoprover.testing.ClusterKits;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Leave;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The queue's shard coordinator moves to a node started with {@code
 * pekko.cluster.role.queue.min-nr-of-members = 3} while fewer queue nodes are Up: Pekko's new
 * coordinator places no entity, and an operator's standby takeover hung silently until a queue node
 * was added. The node that now hosts the coordinator says so (WARN, {@code /status} problem) and
 * says when enough queue nodes are Up. Actor systems with the cluster provider, joined in this JVM.
 */
@ExtendWith(LogCapturingExtension.class)
class QueueCoordinatorWatchTest {
  private final List<ActorTestKit> kits = new ArrayList<>();

  @AfterEach
  void stop() {
    kits.forEach(ActorTestKit::shutdownTestKit);
  }

  private ActorTestKit queueNode(ActorTestKit seed, int minQueueMembers) {
    ActorTestKit kit =
        ClusterKits.member(
            "coordinator-watch",
            "pekko.cluster.roles = [queue]\n"
                + "pekko.cluster.role.queue.min-nr-of-members = "
                + minQueueMembers,
            seed);
    kits.add(kit);
    return kit;
  }

  private static void awaitUp(ActorTestKit kit, int members) {
    ClusterKits.awaitUp(kit, members);
  }

  @Test
  void aStandbyWithTheStartSettingSaysItsCoordinatorWaitsAndWhenItNoLongerDoes() {
    ActorTestKit first = queueNode(null, 1); // the first node, oldest: the coordinator's host
    ActorTestKit standby = queueNode(first, 3); // the same command as the first start's
    awaitUp(first, 2);
    standby.spawn(QueueCoordinatorWatch.create("queue"), "watch");
    // while the first node is the oldest nothing is said
    standby
        .createTestProbe()
        .expectNoMessage(QueueCoordinatorWatch.SETTLE.plusSeconds(1)); // a real wait: the settle
    assertEquals(List.of(), NodeProblems.get(standby.system()).current());

    LoggingTestKit.warn("the queue's shard coordinator runs on this node now")
        .withMessageContains(
            "pekko.cluster.role.queue.min-nr-of-members = 3 nodes with role queue are Up (1 are)")
        .expect(
            standby.system(),
            () -> {
              Cluster.get(first.system())
                  .manager()
                  .tell(Leave.create(Cluster.get(first.system()).selfMember().address()));
              awaitUp(standby, 1);
              standby
                  .createTestProbe()
                  .awaitAssert(
                      QueueCoordinatorWatch.SETTLE.plusSeconds(5),
                      () -> {
                        List<String> problems = NodeProblems.get(standby.system()).current();
                        assertEquals(1, problems.size(), problems.toString());
                        assertTrue(problems.get(0).contains("Start 2 more queue node(s)"));
                        return null;
                      });
              return null;
            });

    LoggingTestKit.info("3 nodes with role queue are Up: the queue's shard coordinator")
        .expect(
            standby.system(),
            () -> {
              queueNode(standby, 1);
              queueNode(standby, 1);
              awaitUp(standby, 3);
              return null;
            });
    assertEquals(List.of(), NodeProblems.get(standby.system()).current());
  }
}
