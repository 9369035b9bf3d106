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
 * Which queue node's removal the sequencer is not told of: one downed while it hosted the
 * sequencer, whose next run starts only after the removal (a takeover's new run re-sent the tasks
 * it had just sent when it heard of it).
 */
class QueueNodeWatcherTest {

  private static Member member(int port, int upNumber, MemberStatus status, String... roles) {
    scala.collection.immutable.Set<String> all =
        scala.jdk.javaapi.CollectionConverters.asScala(
                new java.util.HashSet<>(java.util.Arrays.asList(roles)))
            .toSet();
    all = all.$plus("dc-default");
    Address address = new Address("pekko", "prover", "127.0.0.1", port);
    return new Member(
        new UniqueAddress(address, (long) port), upNumber, status, all, Version.Zero());
  }

  @Test
  void aDownedQueueNodeThatHostedTheSequencerIsNotToldOfButAnyOtherIs() {
    Member a = member(1, 1, MemberStatus.removed(), "sequencer", "queue");
    Member b = member(2, 2, MemberStatus.up(), "sequencer", "queue");
    Member c = member(3, 3, MemberStatus.up(), "queue");
    List<Member> after = List.of(b, c);
    assertTrue(QueueNodeWatcher.hostedTheSequencer(a, MemberStatus.down(), after));
    assertFalse(
        QueueNodeWatcher.hostedTheSequencer(a, MemberStatus.exiting(), after),
        "a graceful leave hands the singleton over before its removal: the new run is told");
    assertFalse(
        QueueNodeWatcher.hostedTheSequencer(
            member(3, 3, MemberStatus.removed(), "queue"), MemberStatus.down(), List.of(b)),
        "no role sequencer");
    Member standby = member(4, 4, MemberStatus.removed(), "sequencer", "queue");
    assertFalse(
        QueueNodeWatcher.hostedTheSequencer(standby, MemberStatus.down(), List.of(b, c)),
        "a younger sequencer node (a standby) hosted nothing: the sequencer on b is told");
  }
}
