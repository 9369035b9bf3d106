package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;

/**
 * Which members can still give the shard region's buffered messages a home, so that a node without
 * the queue role lets its region shut down as Pekko does it: a queue node that is Up, WeaklyUp or
 * Leaving (its shards are handed off then); none that joins, exits, is down or is not a queue node.
 * LauncherWaitsIT has the real process: a sequencer-only node stopped while no queue node is up
 * exits in about a second, without the region's timed-out WARN.
 */
class HomelessRegionStopTest {
  private static Member member(int port, MemberStatus status, String... roles) {
    scala.collection.immutable.Set<String> set = scala.collection.immutable.Set$.MODULE$.empty();
    for (String role : roles) {
      set = set.$plus(role);
    }
    return new Member(
        new UniqueAddress(new Address("pekko", "prover", "10.0.0.7", port), 1L),
        1,
        status,
        set,
        Version.Zero());
  }

  @Test
  void aQueueNodeUpWeaklyUpOrLeavingIsAHomeAndNothingElseIs() {
    String queue = ProverNode.QUEUE_ROLE;
    Member sequencer = member(1, MemberStatus.up(), "sequencer", "stateful");
    Member worker = member(2, MemberStatus.up(), "worker");
    assertFalse(HomelessRegionStop.anyHome(List.of(sequencer, worker), queue));
    for (MemberStatus status :
        List.of(MemberStatus.up(), MemberStatus.weaklyUp(), MemberStatus.leaving())) {
      assertTrue(
          HomelessRegionStop.anyHome(List.of(sequencer, member(3, status, queue)), queue),
          status.toString());
    }
    for (MemberStatus status :
        List.of(
            MemberStatus.joining(),
            MemberStatus.exiting(),
            MemberStatus.down(),
            MemberStatus.removed())) {
      assertFalse(
          HomelessRegionStop.anyHome(List.of(sequencer, member(3, status, queue)), queue),
          status.toString());
    }
  }
}
