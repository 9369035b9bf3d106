package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;

/**
 * On a node without the queue role: which queue node's front this node's front sends its workers'
 * announcements, load reports and going-down notices through ({@link QueueCommand.RelayOffer}).
 *
 * <p>Why: a worker node's shard region proxy routes only once the shard coordinator has registered
 * it, and the coordinator registers it only when its own node has seen the new member Up ({@code
 * ShardCoordinator.isMember}), which by gossip can be hundreds of milliseconds after the new node
 * or the leader saw it. A queue node's region is registered already, so the relay lets the workers
 * of a node that just joined register at the first sighting of its Up, whoever sees it first: the
 * new node itself (it then picks the oldest queue node it knows Up) or a queue node (it sends its
 * offer). All of them go through one front, in order, so an announcement cannot overtake an earlier
 * one on another path; before there is a front to go through, nothing is sent (the workers' last
 * announcements are kept and sent when one is chosen: a node takes work only once some node has
 * seen it Up).
 *
 * <p>The target changes only when its node leaves, is downed or removed, or becomes unreachable;
 * the front then sends the workers' last announcements through the next one, the oldest reachable
 * queue node (that queue node's entities started again elsewhere or will, and the others must keep
 * hearing the workers' load reports). Not thread-safe: owned by one front.
 */
final class AnnouncementRelay {

  /** The queue nodes this node has seen Up and not yet leave; the oldest reachable is chosen. */
  private final List<Member> queueMembers = new ArrayList<>();

  /** Queue nodes this node's failure detector finds unreachable now. */
  private final Set<Address> unreachable = new HashSet<>();

  private final ActorContext<QueueCommand> context;
  private final String queueRole;
  private final Address selfAddress;
  private boolean selfUp;
  private ActorRef<QueueCommand> target;

  AnnouncementRelay(ActorContext<QueueCommand> context, String queueRole, Address selfAddress) {
    this.context = context;
    this.queueRole = queueRole;
    this.selfAddress = selfAddress;
  }

  /** The front to send through; empty while there is none (hold the announcements). */
  Optional<ActorRef<QueueCommand>> target() {
    return Optional.ofNullable(target);
  }

  /**
   * A queue node's front offered itself.
   *
   * @return true when it became the target (send the workers' last announcements through it)
   */
  boolean offered(ActorRef<QueueCommand> front) {
    if (target != null) {
      return false;
    }
    target = front;
    context
        .getLog()
        .info(
            "this node's workers announce themselves through the queue front on {}, which saw this"
                + " node Up",
            front.path().address());
    return true;
  }

  /**
   * A membership change.
   *
   * @return true when the target changed to another front (send the workers' last announcements
   *     through it)
   */
  boolean memberEvent(ClusterEvent.MemberEvent event) {
    Member member = event.member();
    if (event instanceof ClusterEvent.MemberUp) {
      if (member.address().equals(selfAddress)) {
        selfUp = true;
        return choose("this node is Up");
      }
      if (member.hasRole(queueRole)) {
        queueMembers.removeIf(m -> m.address().equals(member.address()));
        queueMembers.add(member);
        return choose("queue node " + member.address() + " is Up");
      }
      return false;
    }
    if (event instanceof ClusterEvent.MemberLeft
        || event instanceof ClusterEvent.MemberExited
        || event instanceof ClusterEvent.MemberDowned
        || event instanceof ClusterEvent.MemberRemoved) {
      queueMembers.removeIf(m -> m.address().equals(member.address()));
      if (event instanceof ClusterEvent.MemberRemoved) {
        unreachable.remove(member.address());
      }
      if (targetIsOn(member.address())) {
        target = null;
        return choose("queue node " + member.address() + " is " + member.status());
      }
    }
    return false;
  }

  /**
   * A reachability change: a target that became unreachable (crashed, paused, cut off) is left for
   * the oldest reachable queue node at once, rather than when it is downed and removed.
   *
   * @return true when the target changed to another front
   */
  boolean reachabilityEvent(ClusterEvent.ReachabilityEvent event) {
    Address address = event.member().address();
    if (event instanceof ClusterEvent.UnreachableMember) {
      unreachable.add(address);
      if (targetIsOn(address)) {
        target = null;
        return choose("queue node " + address + " is unreachable");
      }
      return false;
    }
    unreachable.remove(address);
    return choose("queue node " + address + " is reachable again");
  }

  private boolean targetIsOn(Address address) {
    return target != null && target.path().address().equals(address);
  }

  /**
   * Picks the oldest reachable queue node seen Up once this node is Up itself and has no target.
   */
  private boolean choose(String why) {
    if (target != null || !selfUp) {
      return false;
    }
    Member oldest = null;
    for (Member m : queueMembers) {
      if (!unreachable.contains(m.address()) && (oldest == null || m.isOlderThan(oldest))) {
        oldest = m;
      }
    }
    if (oldest == null) {
      return false;
    }
    target = frontAt(context, oldest.address());
    context
        .getLog()
        .info(
            "this node's workers announce themselves through the queue front on {} ({})",
            oldest.address(),
            why);
    return true;
  }

  /** The front of another node: the same path as this node's front, at that node's address. */
  static ActorRef<QueueCommand> frontAt(ActorContext<QueueCommand> context, Address address) {
    String path = context.getSelf().path().toStringWithAddress(address);
    return ActorRefResolver.get(context.getSystem()).resolveActorRef(path);
  }
}
