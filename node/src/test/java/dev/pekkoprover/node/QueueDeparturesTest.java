package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.Test;

/**
 * The cases {@code QueueNodeGoneLineTest} (two nodes in one JVM) leaves out, with the member events
 * a worker node's {@link WaitingForPeers} gets: a queue node downed (unreachable first, or while
 * reachable), two queue nodes, and a new one Up after the last left. The wait's line names the
 * queue node only when it shut down and no other queue member may still come back.
 */
class QueueDeparturesTest {
  private static final String QUEUE = ProverNode.QUEUE_ROLE;

  private static Member member(int port, MemberStatus status, String... roles) {
    scala.collection.immutable.Set<String> set = scala.collection.immutable.Set$.MODULE$.empty();
    for (String role : roles) {
      set = set.$plus(role);
    }
    return new Member(
        new UniqueAddress(new Address("pekko", "prover", "10.0.0.7", port), (long) port),
        1,
        status,
        set,
        Version.Zero());
  }

  private static Member queue(int port, MemberStatus status) {
    return member(port, status, QUEUE, "sequencer", "stateful");
  }

  @Test
  void theLastQueueNodeThatShutDownIsNamedUntilANewOneIsUp() {
    QueueDepartures departures = new QueueDepartures(QUEUE);
    Member worker = member(2552, MemberStatus.up(), "worker");
    departures.on(new ClusterEvent.MemberLeft(queue(2551, MemberStatus.leaving())));
    assertEquals(
        "10.0.0.7:2551", departures.shutDown(List.of(worker, queue(2551, MemberStatus.leaving()))));
    departures.on(new ClusterEvent.MemberExited(queue(2551, MemberStatus.exiting())));
    departures.on(
        new ClusterEvent.MemberRemoved(
            queue(2551, MemberStatus.removed()), MemberStatus.exiting()));
    assertEquals("10.0.0.7:2551", departures.shutDown(List.of(worker)), "removed: still named");

    departures.on(new ClusterEvent.MemberJoined(queue(2561, MemberStatus.joining())));
    assertNull(
        departures.shutDown(List.of(worker, queue(2561, MemberStatus.joining()))),
        "a queue node joins: it is not the one that shut down that the wait is for");
    departures.on(new ClusterEvent.MemberUp(queue(2561, MemberStatus.up())));
    assertNull(departures.shutDown(List.of(worker)), "one was Up again since");
  }

  @Test
  void aQueueNodeDownedIsNotOneThatShutDown() {
    QueueDepartures departures = new QueueDepartures(QUEUE);
    // killed: unreachable, then downed and removed
    departures.on(new ClusterEvent.UnreachableMember(queue(2551, MemberStatus.up())));
    departures.on(new ClusterEvent.MemberDowned(queue(2551, MemberStatus.down())));
    departures.on(
        new ClusterEvent.MemberRemoved(queue(2551, MemberStatus.removed()), MemberStatus.down()));
    assertNull(departures.shutDown(List.of()));

    // a queue node that leaves and is then seen unreachable on its way out (killed mid-leave)
    departures.on(new ClusterEvent.MemberLeft(queue(2561, MemberStatus.leaving())));
    departures.on(new ClusterEvent.UnreachableMember(queue(2561, MemberStatus.leaving())));
    assertNull(departures.shutDown(List.of(queue(2561, MemberStatus.leaving()))));

    // downed while reachable (an operator's down): no shutdown of its own
    QueueDepartures other = new QueueDepartures(QUEUE);
    other.on(new ClusterEvent.MemberLeft(queue(2571, MemberStatus.leaving())));
    other.on(new ClusterEvent.MemberDowned(queue(2571, MemberStatus.down())));
    assertNull(other.shutDown(List.of()));
  }

  @Test
  void withTwoQueueNodesTheOneThatShutDownIsNamedOnlyWhenTheOtherIsGoneToo() {
    QueueDepartures departures = new QueueDepartures(QUEUE);
    Member b = queue(2562, MemberStatus.up());
    departures.on(new ClusterEvent.MemberLeft(queue(2561, MemberStatus.leaving())));
    departures.on(
        new ClusterEvent.MemberRemoved(
            queue(2561, MemberStatus.removed()), MemberStatus.exiting()));
    // b is Up but unreachable now: it may come back, so no queue node "left" is why none is up
    departures.on(new ClusterEvent.UnreachableMember(b));
    assertNull(departures.shutDown(List.of(b)));
    departures.on(new ClusterEvent.ReachableMember(b));
    // b leaves too: it went last, by shutting down
    departures.on(new ClusterEvent.MemberLeft(queue(2562, MemberStatus.leaving())));
    assertEquals(
        "10.0.0.7:2562", departures.shutDown(List.of(queue(2562, MemberStatus.leaving()))));
    // a queue node that is Up but unreachable when the last reachable one leaves is not forgotten
    QueueDepartures other = new QueueDepartures(QUEUE);
    other.on(new ClusterEvent.UnreachableMember(queue(2571, MemberStatus.up())));
    other.on(new ClusterEvent.MemberLeft(queue(2572, MemberStatus.leaving())));
    assertNull(
        other.shutDown(
            List.of(queue(2571, MemberStatus.up()), queue(2572, MemberStatus.leaving()))));
    // and a worker-only node's departure means nothing here
    other.on(new ClusterEvent.MemberLeft(member(2573, MemberStatus.leaving(), "worker")));
    assertNull(
        other.shutDown(
            List.of(queue(2571, MemberStatus.up()), queue(2572, MemberStatus.leaving()))));
  }
}
