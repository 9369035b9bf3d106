package dev.pekkoprover.cluster;

import dev.pekkoprover.node.MembershipEvents;
import dev.pekkoprover.node.ProverNode;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
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
 * worker} other than this one. When this node itself stops, Pekko's last events remove every member
 * it still saw, from their status then (Up): those say nothing, since no worker node left.
 */
final class WorkerNodeEvents {
  private WorkerNodeEvents() {}

  private interface Command extends NoSerializationVerificationNeeded {}

  private record Event(ClusterEvent.ClusterDomainEvent event) implements Command {}

  private enum Stop implements Command {
    INSTANCE
  }

  private static final AtomicInteger INSTANCES = new AtomicInteger();

  /**
   * Starts telling {@code lines} (on an actor's thread); closing it stops.
   *
   * @param announceCurrent also a line for each worker node Up already (else only for changes from
   *     now on)
   */
  static AutoCloseable start(
      ActorSystem<?> system, Consumer<String> lines, boolean announceCurrent) {
    ActorRef<Command> ref =
        system.systemActorOf(
            create(lines, announceCurrent),
            "worker-node-events-" + INSTANCES.incrementAndGet(),
            Props.empty());
    return () -> ref.tell(Stop.INSTANCE);
  }

  private static Behavior<Command> create(Consumer<String> lines, boolean announceCurrent) {
    return Behaviors.setup(
        context -> {
          Cluster cluster = Cluster.get(context.getSystem());
          TreeSet<String> up = new TreeSet<>();
          if (!announceCurrent) { // the subscription replays them as MemberUp: known already, no
            // line
            for (Member member : cluster.state().getMembers()) {
              if (member.status() == MemberStatus.up()
                  && member.hasRole(NodeLauncher.WORKER_ROLE)
                  && !member.address().equals(cluster.selfMember().address())) {
                up.add(ProverNode.hostPort(member.address()));
              }
            }
          }
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
    if (member == null
        || !member.hasRole(NodeLauncher.WORKER_ROLE)
        || member.address().equals(self.address())) {
      return null;
    }
    String node = ProverNode.hostPort(member.address());
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

  private static String count(TreeSet<String> up) {
    return up.size() + " worker node" + (up.size() == 1 ? "" : "s") + " Up";
  }
}
