package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.UniqueAddress;

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
 * <p>The target changes only when its node shuts down (its front withdraws, before the hand-off of
 * its shards: {@link QueueCommand.RelayWithdrawn}), leaves, is downed or removed, or becomes
 * unreachable; the front then sends the workers' last announcements through the next one, the
 * oldest reachable queue node (that queue node's entities started again elsewhere or will, and the
 * others must keep hearing the workers' load reports). Not thread-safe: owned by one front.
 */
final class AnnouncementRelay {

  /** The queue nodes this node has seen Up and not yet leave; the oldest reachable is chosen. */
  private final List<Member> queueMembers = new ArrayList<>();

  /** Queue nodes whose front withdrew as their node shuts down, until they are removed. */
  private final Set<Address> withdrawn = new HashSet<>();

  /** Queue nodes this node's failure detector finds unreachable now. */
  private final Set<Address> unreachable = new HashSet<>();

  private final ActorContext<QueueCommand> context;
  private final String queueRole;

  /** This node's incarnation: a restarted node with the same address is another member. */
  private final UniqueAddress self;

  private boolean selfUp;

  /**
   * This node leaves, was downed or is removed. As its own cluster shuts down, Pekko then reports
   * every member removed, itself included, in address order: that says nothing about the queue
   * nodes, so from here on the relay neither says that one was lost nor moves to another. A node
   * that leaves has drained its workers first (the drain is a task of an earlier shutdown phase).
   */
  private boolean selfLeaving;

  private ActorRef<QueueCommand> target;

  /**
   * Whether this node's workers have announced themselves: the choice of a front is said at INFO
   * only then, at DEBUG on a node without workers (a sequencer-only node), whose lines would name
   * workers it does not have.
   */
  private final BooleanSupplier hasWorkers;

  AnnouncementRelay(
      ActorContext<QueueCommand> context,
      String queueRole,
      UniqueAddress self,
      BooleanSupplier hasWorkers) {
    this.context = context;
    this.queueRole = queueRole;
    this.self = self;
    this.hasWorkers = hasWorkers;
  }

  /**
   * The last line about the front, said at DEBUG because no worker of this node had announced
   * itself: said at INFO once one does ({@link #workerAnnounced}); null when there is none.
   */
  private String unsaid;

  private Object[] unsaidArguments;

  /** A line about the relay's front: INFO where this node has workers, else DEBUG. */
  private void say(String format, Object... arguments) {
    if (hasWorkers.getAsBoolean()) {
      unsaid = null;
      context.getLog().info(format, arguments);
    } else {
      unsaid = format;
      unsaidArguments = arguments;
      context.getLog().debug(format, arguments);
    }
  }

  /**
   * A worker of this node announced itself: the last line about the front said at DEBUG before
   * (with no worker to name: the node's first worker, or a first one again after all had stopped)
   * is said now at INFO, once.
   */
  void workerAnnounced() {
    if (unsaid != null) {
      say(unsaid, unsaidArguments);
    }
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
    if (target != null || withdrawn.contains(front.path().address())) {
      return false;
    }
    target = front;
    say(
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
      if (member.uniqueAddress().equals(self)) {
        selfUp = true;
        return choose("this node is Up");
      }
      if (member.hasRole(queueRole) && !withdrawn.contains(member.address())) {
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
      if (member.uniqueAddress().equals(self)) {
        selfLeaving = true;
        return false;
      }
      queueMembers.removeIf(m -> m.address().equals(member.address()));
      if (event instanceof ClusterEvent.MemberRemoved) {
        unreachable.remove(member.address());
        withdrawn.remove(member.address());
      }
      if (targetIsOn(member.address())) {
        if (selfLeaving) {
          target = null;
          context
              .getLog()
              .debug(
                  "queue node {} is {} while this node leaves: no other front is taken",
                  member.address(),
                  member.status());
          return false;
        }
        return lose("queue node " + member.address() + " is " + member.status());
      }
    }
    return false;
  }

  /**
   * A queue node's front withdrew because its node shuts down ({@link
   * QueueCommand.RelayWithdrawn}): that node is dropped as when it leaves, but before its shards
   * are handed off rather than after, and it is not taken again should its Up or its offer come
   * later.
   *
   * @return true when the target changed to another front
   */
  boolean withdrawn(Address address) {
    withdrawn.add(address);
    queueMembers.removeIf(m -> m.address().equals(address));
    if (targetIsOn(address)) {
      return lose("queue node " + address + " shuts down");
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
        return lose("queue node " + address + " is unreachable");
      }
      return false;
    }
    unreachable.remove(address);
    return choose("queue node " + address + " is reachable again");
  }

  /**
   * The target's node is lost for {@code why}: the next one, or none (said at INFO: the workers'
   * last announcements are kept and go out once a queue node is Up and reachable; their load
   * reports are not sent meanwhile).
   */
  private boolean lose(String why) {
    target = null;
    if (choose(why)) {
      return true;
    }
    say(
        "this node's workers have no queue front to announce themselves through: {} and no"
            + " other queue node is Up and reachable; their announcements go out once one is",
        why);
    return false;
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
    say(
        "this node's workers announce themselves through the queue front on {} ({})",
        oldest.address(),
        why);
    return true;
  }

  /** The front of another node: the same path as this node's front, at that node's address. */
  static ActorRef<QueueCommand> frontAt(ActorContext<QueueCommand> context, Address address) {
    return frontAt(context.getSystem(), context.getSelf(), address);
  }

  /** The front at the same path as {@code self}, at that node's address. */
  static ActorRef<QueueCommand> frontAt(
      ActorSystem<?> system, ActorRef<QueueCommand> self, Address address) {
    String path = self.path().toStringWithAddress(address);
    return ActorRefResolver.get(system).resolveActorRef(path);
  }
}
