package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.pekkoprover.node.ProverNode;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What {@link SequencerWatch#sighting} makes of Pekko's cluster events, on real members: one of a
 * one-node cluster with role sequencer and one of another with role worker, both Up. The rule they
 * feed: {@link SequencerWatchTest}.
 */
class SequencerWatchEventsTest {
  private static ActorTestKit sequencerNode;
  private static ActorTestKit workerNode;
  private static Member sequencer;
  private static Member worker;

  /** Another node's incarnation: events of {@link #sequencer} are of a peer. */
  private static UniqueAddress other;

  @BeforeAll
  static void start() {
    sequencerNode =
        ActorTestKit.create(
            ClusterNodes.SYSTEM, ClusterNodes.config(ProverNode.SEQUENCER_ROLE, ""));
    workerNode =
        ActorTestKit.create(ClusterNodes.SYSTEM, ClusterNodes.config(NodeLauncher.WORKER_ROLE, ""));
    sequencer = upAlone(sequencerNode);
    worker = upAlone(workerNode);
    other = worker.uniqueAddress();
  }

  /** The node's member once it is Up in a cluster of its own. */
  private static Member upAlone(ActorTestKit node) {
    Cluster cluster = Cluster.get(node.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    node.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(MemberStatus.up(), cluster.selfMember().status());
              return null;
            });
    return cluster.selfMember();
  }

  @AfterAll
  static void stop() {
    sequencerNode.shutdownTestKit();
    workerNode.shutdownTestKit();
  }

  private static SequencerWatch.Kind kind(
      ClusterEvent.ClusterDomainEvent event, UniqueAddress self) {
    SequencerWatch.Sighting sighting = SequencerWatch.sighting(event, self);
    return sighting == null ? null : sighting.kind();
  }

  @Test
  void aSequencerMembersEventsAreUpNotUpAndItsReachability() {
    SequencerWatch.Sighting up =
        SequencerWatch.sighting(new ClusterEvent.MemberUp(sequencer), other);
    assertEquals(
        new SequencerWatch.Sighting(
            sequencer.uniqueAddress().toString(),
            ProverNode.hostPort(sequencer.address()),
            SequencerWatch.Kind.UP),
        up);
    Member leaving = sequencer.copy(MemberStatus.leaving());
    assertEquals(SequencerWatch.Kind.NOT_UP, kind(new ClusterEvent.MemberLeft(leaving), other));
    Member exiting = leaving.copy(MemberStatus.exiting());
    assertEquals(SequencerWatch.Kind.NOT_UP, kind(new ClusterEvent.MemberExited(exiting), other));
    Member downed = sequencer.copy(MemberStatus.down());
    assertEquals(SequencerWatch.Kind.NOT_UP, kind(new ClusterEvent.MemberDowned(downed), other));
    assertEquals(
        SequencerWatch.Kind.NOT_UP,
        kind(
            new ClusterEvent.MemberRemoved(
                downed.copy(MemberStatus.removed()), MemberStatus.down()),
            other));
    assertEquals(
        SequencerWatch.Kind.UNREACHABLE,
        kind(new ClusterEvent.UnreachableMember(sequencer), other));
    assertEquals(
        SequencerWatch.Kind.REACHABLE, kind(new ClusterEvent.ReachableMember(sequencer), other));
  }

  @Test
  void thisNodesOwnUpCountsAndItsOtherEventsAndOtherRolesDoNot() {
    UniqueAddress self = sequencer.uniqueAddress();
    assertEquals(SequencerWatch.Kind.SELF_UP, kind(new ClusterEvent.MemberUp(sequencer), self));
    assertNull(kind(new ClusterEvent.MemberLeft(sequencer.copy(MemberStatus.leaving())), self));
    assertNull(kind(new ClusterEvent.UnreachableMember(sequencer), self));
    assertNull(kind(new ClusterEvent.MemberUp(worker), sequencer.uniqueAddress()));
    assertNull(kind(new ClusterEvent.UnreachableMember(worker), sequencer.uniqueAddress()));
  }
}
