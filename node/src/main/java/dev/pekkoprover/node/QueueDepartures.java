package dev.pekkoprover.node;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;

/**
 * How the last node with the queue role went, for {@link WaitingForPeers}' wait for one: by
 * shutting down (it left: SIGTERM, {@code --exit-when-done}), or not (it became unreachable, or was
 * downed while reachable). After a job's sequencer node exits, its worker nodes wait for the next
 * queue node, and the line then names the one that shut down instead of suggesting a queue node
 * that formed a cluster of its own. Fed with one node's member and reachability events, in order.
 */
final class QueueDepartures {
  private final String queueRole;

  /**
   * The queue node that last left by shutting down, as host:port, until a queue node is Up again or
   * one becomes unreachable or is downed while reachable; null otherwise.
   */
  private String left;

  /** Queue nodes unreachable now: their downing is then no new departure. */
  private final Set<UniqueAddress> unreachable = new HashSet<>();

  QueueDepartures(String queueRole) {
    this.queueRole = queueRole;
  }

  /** Takes one member or reachability event; others are ignored. */
  void on(ClusterEvent.ClusterDomainEvent event) {
    Member member =
        event instanceof ClusterEvent.MemberEvent memberEvent
            ? memberEvent.member()
            : event instanceof ClusterEvent.ReachabilityEvent reachability
                ? reachability.member()
                : null;
    if (member == null || !member.hasRole(queueRole)) {
      return;
    }
    if (event instanceof ClusterEvent.MemberLeft || event instanceof ClusterEvent.MemberExited) {
      left = ProverNode.hostPort(member.address());
    } else if (event instanceof ClusterEvent.MemberUp) {
      left = null;
    } else if (event instanceof ClusterEvent.UnreachableMember) {
      unreachable.add(member.uniqueAddress());
      left = null;
    } else if (event instanceof ClusterEvent.ReachableMember) {
      unreachable.remove(member.uniqueAddress());
    } else if (event instanceof ClusterEvent.MemberDowned) {
      if (!unreachable.contains(member.uniqueAddress())) {
        left = null;
      }
    } else if (event instanceof ClusterEvent.MemberRemoved) {
      unreachable.remove(member.uniqueAddress());
    }
  }

  /**
   * The queue node that shut down, as host:port, when that is why none is up: it went last, and
   * every queue member still in {@code members} is leaving or exiting (none that is Up but
   * unreachable, or joining); else null.
   */
  String shutDown(Collection<Member> members) {
    if (left == null) {
      return null;
    }
    for (Member member : members) {
      if (member.hasRole(queueRole)
          && member.status() != MemberStatus.leaving()
          && member.status() != MemberStatus.exiting()) {
        return null;
      }
    }
    return left;
  }
}
