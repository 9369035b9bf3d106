package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Set;
import java.util.TreeSet;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;

/**
 * The sequencer node's lines about worker nodes: one per join, leave, downing and reachability
 * change of another worker node, and none when this node itself stops (Pekko's last events then
 * remove every member from its status of the moment, Up, though none of them left).
 */
class WorkerNodeEventsTest {
  private static final Member SELF = member(2551, "sequencer", MemberStatus.up());

  private static Member member(int port, String role, MemberStatus status) {
    Address address = new Address("pekko", "prover", "127.0.0.1", port);
    scala.collection.immutable.Set<String> roles =
        scala.jdk.javaapi.CollectionConverters.asScala(Set.of(role, "dc-default")).toSet();
    return new Member(new UniqueAddress(address, (long) port), 1, status, roles, Version.Zero());
  }

  private static ClusterEvent.MemberRemoved removed(int port, MemberStatus before) {
    return new ClusterEvent.MemberRemoved(member(port, "worker", MemberStatus.removed()), before);
  }

  @Test
  void eachWorkerNodeThatJoinsLeavesOrIsDownedGetsALineWithTheCountUp() {
    TreeSet<String> up = new TreeSet<>();
    assertEquals(
        "worker node 127.0.0.1:2552 is Up: 1 worker node Up",
        WorkerNodeEvents.line(
            new ClusterEvent.MemberUp(member(2552, "worker", MemberStatus.up())), SELF, up));
    assertEquals(
        "worker node 127.0.0.1:2553 is Up: 2 worker nodes Up",
        WorkerNodeEvents.line(
            new ClusterEvent.MemberUp(member(2553, "worker", MemberStatus.up())), SELF, up));
    assertNull(
        WorkerNodeEvents.line(
            new ClusterEvent.MemberUp(member(2553, "worker", MemberStatus.up())), SELF, up),
        "known already");
    assertNull(
        WorkerNodeEvents.line(
            new ClusterEvent.MemberUp(member(2554, "queue", MemberStatus.up())), SELF, up),
        "not a worker node, and a queue node's joining says nothing");
    assertEquals(
        "worker node 127.0.0.1:2553 is unreachable: its tasks go back to the queue",
        WorkerNodeEvents.line(
            new ClusterEvent.UnreachableMember(member(2553, "worker", MemberStatus.up())),
            SELF,
            up));
    assertEquals(
        "worker node 127.0.0.1:2553 downed and removed: 1 worker node Up",
        WorkerNodeEvents.line(removed(2553, MemberStatus.down()), SELF, up));
    assertEquals(
        "worker node 127.0.0.1:2552 left the cluster: 0 worker nodes Up",
        WorkerNodeEvents.line(removed(2552, MemberStatus.exiting()), SELF, up));
  }

  @Test
  void whenThisNodeStopsTheWorkerNodesItStillSawAreNotSaidToLeave() {
    TreeSet<String> up = new TreeSet<>();
    WorkerNodeEvents.line(
        new ClusterEvent.MemberUp(member(2552, "worker", MemberStatus.up())), SELF, up);
    WorkerNodeEvents.line(
        new ClusterEvent.MemberUp(member(2553, "worker", MemberStatus.up())), SELF, up);
    Member leaving = member(2551, "sequencer", MemberStatus.exiting());
    assertNull(WorkerNodeEvents.line(removed(2552, MemberStatus.up()), leaving, up));
    assertNull(WorkerNodeEvents.line(removed(2553, MemberStatus.weaklyUp()), leaving, up));
    assertEquals(Set.of("127.0.0.1:2552", "127.0.0.1:2553"), up, "still Up when this node left");
  }

  @Test
  void aQueueNodeGetsALineWhenItIsLostBackOrGoneButNotWhenItJoins() {
    TreeSet<String> up = new TreeSet<>();
    Member queue = member(2554, "queue", MemberStatus.up());
    assertNull(WorkerNodeEvents.line(new ClusterEvent.MemberUp(queue), SELF, up), "joining");
    assertEquals(
        "queue node 127.0.0.1:2554 is unreachable: its queues show as they last answered until it"
            + " is downed and they start again on a queue node that stays",
        WorkerNodeEvents.line(new ClusterEvent.UnreachableMember(queue), SELF, up));
    assertEquals(
        "queue node 127.0.0.1:2554 is reachable again",
        WorkerNodeEvents.line(new ClusterEvent.ReachableMember(queue), SELF, up));
    Member gone = member(2554, "queue", MemberStatus.removed());
    assertEquals(
        "queue node 127.0.0.1:2554 downed and removed: its queues start again on a queue node"
            + " that stays, and their pending tasks are sent to them again",
        WorkerNodeEvents.line(new ClusterEvent.MemberRemoved(gone, MemberStatus.down()), SELF, up));
    assertEquals(
        "queue node 127.0.0.1:2554 left the cluster: its queues moved to a queue node that stays",
        WorkerNodeEvents.line(
            new ClusterEvent.MemberRemoved(gone, MemberStatus.exiting()), SELF, up));
    assertNull(
        WorkerNodeEvents.line(new ClusterEvent.MemberRemoved(gone, MemberStatus.up()), SELF, up),
        "removed from Up: this node stops");
    assertEquals(Set.of(), up, "no worker node counted");
  }

  @Test
  void aNodeThatIsWorkerAndQueueSaysWhatBecomesOfItsTasksAndOfItsQueues() {
    TreeSet<String> up = new TreeSet<>();
    scala.collection.immutable.Set<String> roles =
        scala.jdk.javaapi.CollectionConverters.asScala(Set.of("worker", "queue", "dc-default"))
            .toSet();
    Address address = new Address("pekko", "prover", "127.0.0.1", 2555);
    Member both =
        new Member(new UniqueAddress(address, 2555L), 1, MemberStatus.up(), roles, Version.Zero());
    Member gone = both.copy(MemberStatus.removed());
    assertEquals(
        "worker node 127.0.0.1:2555 is Up: 1 worker node Up",
        WorkerNodeEvents.line(new ClusterEvent.MemberUp(both), SELF, up));
    assertEquals(
        "worker node 127.0.0.1:2555 is unreachable: its tasks go back to the queue; the node's"
            + " queues show as they last answered until it is downed and they start again on a queue node"
            + " that stays",
        WorkerNodeEvents.line(new ClusterEvent.UnreachableMember(both), SELF, up));
    assertEquals(
        "worker node 127.0.0.1:2555 is reachable again",
        WorkerNodeEvents.line(new ClusterEvent.ReachableMember(both), SELF, up));
    assertEquals(
        "worker node 127.0.0.1:2555 downed and removed: 0 worker nodes Up; the node's queues"
            + " start again on a queue node that stays, and their pending tasks are sent to them again",
        WorkerNodeEvents.line(new ClusterEvent.MemberRemoved(gone, MemberStatus.down()), SELF, up));
  }
}
