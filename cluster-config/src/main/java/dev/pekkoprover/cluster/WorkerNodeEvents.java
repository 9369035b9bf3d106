package dev.pekkoprover.cluster;

import dev.pekkoprover.node.MembershipEvents;
import dev.pekkoprover.node.ProverNode;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One line for each worker node that is Up (joined, or already there when it starts), becomes
 * unreachable, is reachable again or leaves the cluster, with the number of worker nodes Up: what
 * the sequencer node's job output says of the fleet ({@link JobProgress}). Nodes with role {@code
 * worker} other than this one; and a line for each other queue node (no worker) that becomes
 * unreachable, is reachable again, is downed or leaves ({@link #queueLine}). When this node itself
 * stops, Pekko's last events remove every member it still saw, from their status then (Up): those
 * say nothing, since no worker node left.
 *
 * <p>A sequencer node has one such subscription for its whole life ({@link #startForNode}), started
 * before its job runs: a job that runs until the node stops (the appchain service) leaves the lines
 * on too, and none is started as the node shuts down. A {@link JobProgress} open meanwhile takes
 * the lines ({@link #divert}), so that they come above its bar.
 */
final class WorkerNodeEvents {
  private WorkerNodeEvents() {}

  /** A node's one subscription and where its lines go now. */
  private static final class NodeLines implements Extension {
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicReference<Consumer<String>> target = new AtomicReference<>();
  }

  private static final class NodeLinesId extends ExtensionId<NodeLines> {
    static final NodeLinesId INSTANCE = new NodeLinesId();

    @Override
    public NodeLines createExtension(ActorSystem<?> system) {
      return new NodeLines();
    }
  }

  /**
   * Starts the node's lines to {@code lines} (a line for each worker node Up already, then one per
   * change), for as long as its actor system runs; a second call does nothing, as does a call once
   * the node shuts down (nothing is said then: no worker node left).
   */
  static void startForNode(ActorSystem<?> system, Consumer<String> lines) {
    NodeLines node = NodeLinesId.INSTANCE.apply(system);
    if (!node.started.compareAndSet(false, true)) {
      return;
    }
    node.target.set(lines);
    if (CoordinatedShutdown.get(system).getShutdownReason().isPresent()) {
      return;
    }
    try {
      start(system, line -> node.target.get().accept(line));
    } catch (IllegalStateException terminating) {
      // the shutdown began in between: the actor system takes no new actor, and there is nothing
      // to tell
    }
  }

  /**
   * The node's lines go to {@code lines} until the returned closes, then where they went before;
   * without the node's subscription ({@link #startForNode}: a node not started by the launcher), a
   * subscription of its own, closed with it.
   */
  static AutoCloseable divert(ActorSystem<?> system, Consumer<String> lines) {
    NodeLines node = NodeLinesId.INSTANCE.apply(system);
    if (!node.started.get()) {
      return start(system, lines);
    }
    Consumer<String> before = node.target.getAndSet(lines);
    return () -> node.target.compareAndSet(lines, before);
  }

  private interface Command extends NoSerializationVerificationNeeded {}

  private record Event(ClusterEvent.ClusterDomainEvent event) implements Command {}

  private enum Stop implements Command {
    INSTANCE
  }

  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /**
   * Starts telling {@code lines} (on an actor's thread), a line for each worker node Up already,
   * then one per change; closing it stops.
   */
  private static AutoCloseable start(ActorSystem<?> system, Consumer<String> lines) {
    ActorRef<Command> ref =
        system.systemActorOf(
            create(lines), "worker-node-events-" + INSTANCES.incrementAndGet(), Props.empty());
    return () -> ref.tell(Stop.INSTANCE);
  }

  private static Behavior<Command> create(Consumer<String> lines) {
    return Behaviors.setup(
        context -> {
          Cluster cluster = Cluster.get(context.getSystem());
          TreeSet<String> up = new TreeSet<>();
          MembershipEvents.subscribe(context, Event::new, Event::new);
          return Behaviors.receive(Command.class)
              .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
              .onMessage(
                  Event.class,
                  message -> {
                    String line = line(message.event(), cluster.selfMember(), up);
                    if (line != null) {
                      lines.accept(line);
                    }
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /**
   * The line for one event (null for events of other nodes or of no interest); keeps {@code up}
   * current.
   */
  static String line(ClusterEvent.ClusterDomainEvent event, Member self, TreeSet<String> up) {
    Member member = null;
    if (event instanceof ClusterEvent.MemberEvent e
        && (e instanceof ClusterEvent.MemberUp || e instanceof ClusterEvent.MemberRemoved)) {
      member = e.member();
    } else if (event instanceof ClusterEvent.ReachabilityEvent e) {
      member = e.member();
    }
    if (member == null || member.address().equals(self.address())) {
      return null;
    }
    String node = ProverNode.hostPort(member.address());
    if (!member.hasRole(NodeLauncher.WORKER_ROLE)) {
      return member.hasRole(ProverNode.QUEUE_ROLE) ? queueLine(event, node) : null;
    }
    String line = workerLine(event, node, up);
    String queues = member.hasRole(ProverNode.QUEUE_ROLE) ? queueClause(event) : null;
    // a node with both roles: its queues' fate too (a trial's worker,queue node's loss said only
    // that its tasks go back)
    return line == null || queues == null ? line : line + "; the node's queues " + queues;
  }

  private static String workerLine(
      ClusterEvent.ClusterDomainEvent event, String node, TreeSet<String> up) {
    if (event instanceof ClusterEvent.MemberUp) {
      if (!up.add(node)) {
        return null; // known already
      }
      return "worker node " + node + " is Up: " + count(up);
    }
    if (event instanceof ClusterEvent.MemberRemoved removed) {
      MemberStatus before = removed.previousStatus();
      if (before != MemberStatus.down() && before != MemberStatus.exiting()) {
        // a member leaves as Exiting and is downed as Down: removed from another status, it is
        // this node that stops, and its cluster's last events drop every member it still saw
        return null;
      }
      up.remove(node);
      String how = before == MemberStatus.down() ? "downed and removed" : "left the cluster";
      return "worker node " + node + " " + how + ": " + count(up);
    }
    if (event instanceof ClusterEvent.UnreachableMember) {
      return "worker node " + node + " is unreachable: its tasks go back to the queue";
    }
    return "worker node " + node + " is reachable again";
  }

  /**
   * The line for an event of a queue node that is no worker node (a worker node's line with the
   * queue role ends with {@link #queueClause}): its loss and its return, none for its joining
   * (every cluster's start would say it). A trial's operator saw the queue's figures stand still
   * for 13 s after a queue node's kill with no word of why on the job's output (the sequencer's log
   * line of the re-send went to the log only).
   */
  private static String queueLine(ClusterEvent.ClusterDomainEvent event, String node) {
    if (event instanceof ClusterEvent.ReachableMember) {
      return "queue node " + node + " is reachable again";
    }
    String queues = queueClause(event);
    if (queues == null) {
      return null; // Up; or removed from another status: this node stops
    }
    if (event instanceof ClusterEvent.UnreachableMember) {
      return "queue node " + node + " is unreachable: its queues " + queues;
    }
    boolean downed = ((ClusterEvent.MemberRemoved) event).previousStatus() == MemberStatus.down();
    return "queue node "
        + node
        + (downed ? " downed and removed: " : " left the cluster: ")
        + "its queues "
        + queues;
  }

  /**
   * What becomes of a queue node's queues at its loss or departure, said after "its queues"; null
   * for other events (its joining, its return, or a removal from another status: this node stops).
   */
  private static String queueClause(ClusterEvent.ClusterDomainEvent event) {
    if (event instanceof ClusterEvent.UnreachableMember) {
      return "show as they last answered until it is downed and they start again on a queue node"
          + " that stays";
    }
    if (event instanceof ClusterEvent.MemberRemoved removed) {
      if (removed.previousStatus() == MemberStatus.down()) {
        return "start again on a queue node that stays, and their pending tasks are sent to them"
            + " again";
      }
      if (removed.previousStatus() == MemberStatus.exiting()) {
        return "moved to a queue node that stays";
      }
    }
    return null;
  }

  private static String count(TreeSet<String> up) {
    return up.size() + " worker node" + (up.size() == 1 ? "" : "s") + " Up";
  }
}
