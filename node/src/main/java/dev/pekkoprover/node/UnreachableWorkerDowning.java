package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;

/**
 * Downs a worker-only node (no role {@code stateful}) once it has been unreachable for {@code
 * prover.cluster.down-unreachable-workers-after}. Runs on every stateful node; only the oldest
 * reachable one acts, and only while its side would be kept by the split-brain resolver (the
 * majority of the stateful nodes).
 *
 * <p>What a reader must not miss: this is not a second split-brain resolver. It exists because the
 * resolver waits for {@code stable-after} without any membership or reachability change, which
 * steady worker churn never gives, while a dead node blocks convergence (a replacement node stays
 * WeaklyUp and cannot reach sharding). It never downs a stateful node, and downing a stateless
 * worker that was only paused costs that node a restart, never state.
 */
public final class UnreachableWorkerDowning {

  /** Local only: cluster events and its own timers. */
  public interface Command extends NoSerializationVerificationNeeded {}

  private record MemberChange(ClusterEvent.MemberEvent event) implements Command {}

  private record ReachabilityChange(ClusterEvent.ReachabilityEvent event) implements Command {}

  private record Overdue(UniqueAddress node) implements Command {}

  /**
   * When the node that must act (the oldest reachable stateful one) is not this one, look again
   * this often: that node may go away before the worker is downed.
   */
  private static final Duration RECHECK = Duration.ofSeconds(1);

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final Cluster cluster;
  private final Duration after;

  /** Worker-only nodes unreachable now, with the time (nanoTime) this node saw them become so. */
  private final Map<UniqueAddress, Long> unreachableSince = new HashMap<>();

  private UnreachableWorkerDowning(
      ActorContext<Command> context, TimerScheduler<Command> timers, Duration after) {
    this.context = context;
    this.timers = timers;
    this.cluster = Cluster.get(context.getSystem());
    this.after = after;
  }

  public static Behavior<Command> create(Config config) {
    Duration after = config.getDuration("prover.cluster.down-unreachable-workers-after");
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(
                      UnreachableWorkerDowning.class); // not a Pekko logger, kept at WARN
                  Cluster cluster = Cluster.get(context.getSystem());
                  MembershipEvents.subscribe(context, MemberChange::new, ReachabilityChange::new);
                  return new UnreachableWorkerDowning(context, timers, after).watching();
                }));
  }

  private Behavior<Command> watching() {
    return Behaviors.receive(Command.class)
        .onMessage(ReachabilityChange.class, this::onReachabilityChange)
        .onMessage(MemberChange.class, this::onMemberChange)
        .onMessage(Overdue.class, this::onOverdue)
        .build();
  }

  private Behavior<Command> onReachabilityChange(ReachabilityChange change) {
    Member member = change.event().member();
    if (change.event() instanceof ClusterEvent.UnreachableMember) {
      if (!member.hasRole(ProverNode.STATEFUL_ROLE)
          && !unreachableSince.containsKey(member.uniqueAddress())) {
        unreachableSince.put(member.uniqueAddress(), System.nanoTime());
        timers.startSingleTimer(member.uniqueAddress(), new Overdue(member.uniqueAddress()), after);
      }
    } else {
      forget(member.uniqueAddress());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onMemberChange(MemberChange change) {
    if (change.event() instanceof ClusterEvent.MemberRemoved
        || change.event() instanceof ClusterEvent.MemberDowned) {
      forget(change.event().member().uniqueAddress());
    }
    return Behaviors.same();
  }

  private void forget(UniqueAddress node) {
    unreachableSince.remove(node);
    timers.cancel(node);
  }

  private Behavior<Command> onOverdue(Overdue overdue) {
    Long since = unreachableSince.get(overdue.node());
    if (since == null) {
      return Behaviors.same();
    }
    ClusterEvent.CurrentClusterState state = cluster.state();
    if (!responsible(cluster.selfMember(), state.getMembers(), state.getUnreachable())) {
      timers.startSingleTimer(overdue.node(), overdue, RECHECK);
      return Behaviors.same();
    }
    unreachableSince.remove(overdue.node());
    Duration unreachable = Duration.ofNanos(System.nanoTime() - since);
    context
        .getLog()
        .info(
            "downing worker node {}: unreachable for {} s (prover.cluster.down-unreachable-workers-after"
                + " = {} s); a stateless node loses no state, a live one restarts",
            ProverNode.hostPort(overdue.node().address()),
            String.format("%.1f", unreachable.toMillis() / 1000.0),
            after.toMillis() / 1000.0);
    cluster.manager().tell(new Down(overdue.node().address()));
    return Behaviors.same();
  }

  /**
   * Whether {@code self} is the node that downs unreachable workers: the oldest reachable stateful
   * member, on a side that keep-majority would keep (more stateful members reachable than not, or
   * as many and the one with the lowest address among the reachable ones). On the other side of a
   * partition the resolver downs this node anyway.
   */
  static boolean responsible(Member self, Iterable<Member> members, Set<Member> unreachable) {
    List<Member> reachable = new ArrayList<>();
    int unreachableCount = 0;
    Member lowest = null;
    for (Member member : members) {
      if (!member.hasRole(ProverNode.STATEFUL_ROLE)
          || member.status() == MemberStatus.down()
          || member.status() == MemberStatus.removed()) {
        continue;
      }
      if (lowest == null || Member.ordering().compare(member, lowest) < 0) {
        lowest = member;
      }
      if (unreachable.contains(member)) {
        unreachableCount++;
      } else if (member.status() == MemberStatus.up()
          || member.status() == MemberStatus.leaving()) {
        reachable.add(member);
      }
    }
    if (reachable.size() < unreachableCount
        || (reachable.size() == unreachableCount && unreachable.contains(lowest))) {
      return false;
    }
    Member oldest = null;
    for (Member member : reachable) {
      if (oldest == null || member.isOlderThan(oldest)) {
        oldest = member;
      }
    }
    return oldest != null && oldest.uniqueAddress().equals(self.uniqueAddress());
  }
}
