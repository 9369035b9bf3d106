package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which members count as having left gracefully, from the member events a node sees: from Leaving
 * until 30 s after removal, never a downed one, and not once a new incarnation joins at the
 * address.
 */
class GracefulLeavesTest {
  private static final Address Q = new Address("pekko", "prover", "10.0.0.7", 25521);
  private static final String AT = Q.toString();
  private static final long SECOND = 1_000_000_000L;

  @AfterEach
  void forget() {
    GracefulLeaves.clear();
  }

  private static Member member(long uid, MemberStatus status) {
    return member(Q, uid, status);
  }

  private static Member member(Address address, long uid, MemberStatus status) {
    scala.collection.immutable.Set<String> roles = scala.collection.immutable.Set$.MODULE$.empty();
    return new Member(new UniqueAddress(address, uid), 1, status, roles, Version.Zero());
  }

  private static void leaveAndRemove(long uid, long removedAt) {
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberLeft(member(uid, MemberStatus.leaving())), 0);
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberExited(member(uid, MemberStatus.exiting())), 0);
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberRemoved(member(uid, MemberStatus.removed()), MemberStatus.exiting()),
        removedAt);
  }

  @Test
  void aMemberCountsFromItsLeavingUntilThirtySecondsAfterItsRemoval() {
    assertTrue(AT.startsWith("pekko://prover@10.0.0.7:25521"), AT);
    assertFalse(GracefulLeaves.leftGracefully(AT, 0), "an Up member");
    GracefulLeaves.onMemberEvent(new ClusterEvent.MemberLeft(member(1, MemberStatus.leaving())), 0);
    assertTrue(GracefulLeaves.leftGracefully(AT, 3_600 * SECOND), "leaving, however long");
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberRemoved(member(1, MemberStatus.removed()), MemberStatus.exiting()),
        100 * SECOND);
    assertTrue(GracefulLeaves.leftGracefully(AT, 130 * SECOND), "30 s after its removal");
    assertFalse(GracefulLeaves.leftGracefully(AT, 131 * SECOND), "31 s after its removal");
    assertFalse(
        GracefulLeaves.leftGracefully("pekko://prover@10.0.0.7:25522", 100 * SECOND),
        "another port");
  }

  @Test
  void aDownedMemberDidNotLeaveGracefully() {
    GracefulLeaves.onMemberEvent(new ClusterEvent.MemberLeft(member(1, MemberStatus.leaving())), 0);
    // killed while it left: the failure detector and the downing provider remove it as Down
    GracefulLeaves.onMemberEvent(new ClusterEvent.MemberDowned(member(1, MemberStatus.down())), 0);
    assertFalse(GracefulLeaves.leftGracefully(AT, SECOND), "downed while leaving");
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberRemoved(member(1, MemberStatus.removed()), MemberStatus.down()),
        SECOND);
    assertFalse(GracefulLeaves.leftGracefully(AT, 2 * SECOND), "removed after Down");
  }

  @Test
  void aNewIncarnationAtTheAddressEndsTheOldOnesLeave() {
    leaveAndRemove(1, SECOND);
    assertTrue(GracefulLeaves.leftGracefully(AT, 2 * SECOND));
    // events of the old incarnation replayed to a late subscriber change nothing
    GracefulLeaves.onMemberEvent(new ClusterEvent.MemberUp(member(1, MemberStatus.up())), SECOND);
    assertTrue(GracefulLeaves.leftGracefully(AT, 2 * SECOND), "the same uid Up again");
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberJoined(member(2, MemberStatus.joining())), 3 * SECOND);
    assertFalse(GracefulLeaves.leftGracefully(AT, 3 * SECOND), "a restarted node at the address");
    // and the new incarnation's own leave counts again
    leaveAndRemove(2, 10 * SECOND);
    assertTrue(GracefulLeaves.leftGracefully(AT, 11 * SECOND));
  }

  @Test
  void expiredLeavesAreForgottenAtTheNextRemoval() {
    leaveAndRemove(1, 0);
    Address other = new Address("pekko", "prover", "10.0.0.8", 25521);
    GracefulLeaves.onMemberEvent(
        new ClusterEvent.MemberRemoved(
            member(other, 5, MemberStatus.removed()), MemberStatus.exiting()),
        60 * SECOND);
    assertFalse(GracefulLeaves.leftGracefully(AT, 0), "dropped at a removal 60 s after its own");
    assertTrue(GracefulLeaves.leftGracefully(other.toString(), 60 * SECOND));
  }
}
