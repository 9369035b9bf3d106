package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.UnreachableWorkerDowning;
import dev.pekkoprover.node.WorkerGroup;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A worker node that dies (its actor system terminates without leaving) is downed and removed by
 * the oldest stateful node after {@code down-unreachable-workers-after}, without waiting for the
 * split-brain resolver (whose stable-after is set far beyond the test here); the stateful node and
 * the other worker node stay.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UnreachableWorkerDowningTest {
  /**
   * The resolver would take a minute: whatever downs the dead node within the test is the worker
   * downing.
   */
  private static final String NO_SBR = "pekko.cluster.split-brain-resolver.stable-after = 60s";

  /** Dies like a killed process: terminating its actor system does not leave the cluster first. */
  private static final String DIES =
      "pekko.coordinated-shutdown.run-by-actor-system-terminate = off";

  @Test
  void aDeadWorkerNodeIsDownedWhileTheStatefulNodeAndTheOtherWorkerStay() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode queue = cluster.start("Q", "queue", NO_SBR, b -> b.catalog(TestNodes.catalog()));
      ProverNode doomed =
          cluster.start(
              "B",
              "worker",
              NO_SBR + "\n" + DIES,
              b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 1)));
      ProverNode survivor =
          cluster.start(
              "C",
              "worker",
              NO_SBR,
              b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 1)));
      Cluster queueCluster = Cluster.get(queue.system());
      assertTrue(
          queueCluster.selfMember().hasRole(ProverNode.STATEFUL_ROLE), "a queue node is stateful");
      assertFalse(
          Cluster.get(doomed.system()).selfMember().hasRole(ProverNode.STATEFUL_ROLE),
          "a worker is not");
      Address doomedAddress = Cluster.get(doomed.system()).selfMember().address();
      awaitMembers(queue, 3);

      long killed = System.nanoTime();
      ActorTestKit kit = ActorTestKit.create(queue.system());
      LoggingTestKit.info(
              "downing worker node " + ProverNode.hostPort(doomedAddress) + ": unreachable for ")
          .withLoggerName(UnreachableWorkerDowning.class.getName())
          .expect(
              queue.system(),
              () -> {
                doomed.system().terminate();
                doomed
                    .system()
                    .getWhenTerminated()
                    .toCompletableFuture()
                    .orTimeout(10, TimeUnit.SECONDS)
                    .join();
                kit.createTestProbe()
                    .awaitAssert(
                        Duration.ofSeconds(20),
                        Duration.ofMillis(100),
                        () -> {
                          for (Member member : queueCluster.state().getMembers()) {
                            assertFalse(
                                member.address().equals(doomedAddress),
                                "the dead node is still a member: " + member);
                          }
                          return null;
                        });
                return null;
              });
      long removedAfter = Duration.ofNanos(System.nanoTime() - killed).toMillis();
      assertTrue(
          removedAfter < 15_000,
          "removed " + removedAfter + " ms after it died, long before stable-after");
      assertEquals(
          MemberStatus.up(), queueCluster.selfMember().status(), "the stateful node stays Up");
      assertEquals(
          MemberStatus.up(),
          Cluster.get(survivor.system()).selfMember().status(),
          "the other worker stays");
      assertEquals(2, List.copyOf(toList(queueCluster.state().getMembers())).size());
    }
  }

  private static List<Member> toList(Iterable<Member> members) {
    List<Member> list = new java.util.ArrayList<>();
    members.forEach(list::add);
    return list;
  }

  private static void awaitMembers(ProverNode node, int count) {
    ActorTestKit.create(node.system())
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              long up =
                  toList(Cluster.get(node.system()).state().getMembers()).stream()
                      .filter(member -> member.status() == MemberStatus.up())
                      .count();
              assertEquals(count, up, "members Up");
              return null;
            });
  }
}
