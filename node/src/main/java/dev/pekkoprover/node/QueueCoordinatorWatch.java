package dev.pekkoprover.node;

import dev.pekkoprover.sequencer.NodeProblems;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Says when the queue's shard coordinator cannot place entities because of {@code
 * pekko.cluster.role.queue.min-nr-of-members}. Pekko's coordinator allocates no shard until that
 * many regions of the role have registered with it; each coordinator checks this once, when it
 * starts. The queue's own placement ({@code QueuePlacement}, {@code --queue-nodes}) spreads a new
 * cluster's entities without it and is what docs/deployment.md advises now, but an operator may
 * still set it, for instance on a standby sequencer node too. When the coordinator then moves to
 * that node (the oldest queue node died or left) with fewer queue nodes Up than the setting asks,
 * the entities of the node that went never start again and every flow waits, silently: an
 * operator's trial hung 2 minutes until it started another queue node.
 *
 * <p>Runs on every node with role queue; only the oldest Up one (where the coordinator runs, the
 * sharding role being queue) reports: one WARN and a {@code /status} problem while the coordinator
 * there has not yet seen enough queue nodes, one INFO line when it has. A coordinator that saw
 * enough once keeps allocating (Pekko's check is for its start only), so a queue node that leaves
 * later is no problem unless the coordinator moves.
 */
public final class QueueCoordinatorWatch {
  /** Its name among the parts whose problems {@code /status} shows ({@link NodeProblems}). */
  static final String PROBLEM_PART = "queue-coordinator";

  /**
   * How long the condition must hold before it is said: while a cluster forms with the setting, its
   * members become Up one event after the other, and a look in between would see too few.
   */
  public static final Duration SETTLE = Duration.ofSeconds(5);

  private enum Recheck {
    INSTANCE
  }

  private final ActorContext<Object> context;
  private final TimerScheduler<Object> timers;
  private final Cluster cluster;
  private final String role;
  private final int minMembers;
  private final Supplier<String> problem = this::problem;

  /**
   * The members as the events told them, not {@code Cluster.state()}: that view is updated by
   * another subscriber and may not show the change an event reports yet.
   */
  private final Map<UniqueAddress, Member> members = new HashMap<>();

  /** Whether the coordinator on this node has seen {@link #minMembers} queue nodes Up. */
  private boolean enough;

  private volatile String line;

  private QueueCoordinatorWatch(
      ActorContext<Object> context, TimerScheduler<Object> timers, String role, int minMembers) {
    this.context = context;
    this.timers = timers;
    this.cluster = Cluster.get(context.getSystem());
    this.role = role;
    this.minMembers = minMembers;
    cluster
        .subscriptions()
        .tell(
            Subscribe.create(
                context.messageAdapter(ClusterEvent.MemberEvent.class, event -> event),
                ClusterEvent.MemberEvent.class));
  }

  /**
   * @param role the sharding role, {@code queue}
   * @return a behavior that does nothing when {@code min-nr-of-members} for the role is 1 or less
   */
  public static Behavior<Object> create(String role) {
    return Behaviors.setup(
        context -> {
          String path = "pekko.cluster.role." + role + ".min-nr-of-members";
          var config = context.getSystem().settings().config();
          int min = config.hasPath(path) ? config.getInt(path) : 1;
          if (min <= 1) {
            return Behaviors.ignore();
          }
          context.setLoggerName(QueueCoordinatorWatch.class);
          return Behaviors.withTimers(
              timers -> new QueueCoordinatorWatch(context, timers, role, min).watching());
        });
  }

  private Behavior<Object> watching() {
    return Behaviors.receive(Object.class)
        .onMessageEquals(Recheck.INSTANCE, () -> check(true))
        .onMessage(
            ClusterEvent.MemberEvent.class,
            event -> {
              if (event instanceof ClusterEvent.MemberRemoved) {
                members.remove(event.member().uniqueAddress());
              } else {
                members.put(event.member().uniqueAddress(), event.member());
              }
              return check(false);
            })
        .onSignal(
            PostStop.class,
            stopped -> {
              NodeProblems.get(context.getSystem()).unregister(PROBLEM_PART, problem);
              return Behaviors.same();
            })
        .build();
  }

  /**
   * Looks at the membership again: after a change ({@code settled} false: a problem is said only if
   * it still holds {@link #SETTLE} later), or at that later look.
   */
  private Behavior<Object> check(boolean settled) {
    Member self = cluster.selfMember();
    Member oldestUp = null;
    int up = 0;
    for (Member member : members.values()) {
      if (member.hasRole(role) && member.status() == MemberStatus.up()) {
        up++;
        if (oldestUp == null || member.isOlderThan(oldestUp)) {
          oldestUp = member;
        }
      }
    }
    boolean here = oldestUp != null && oldestUp.uniqueAddress().equals(self.uniqueAddress());
    if (!here) {
      enough = false; // a coordinator that comes back here later is a new one, which checks again
    } else if (up >= minMembers) {
      enough = true;
    }
    String verdict = here && !enough ? verdict(up) : null;
    if (verdict == null) {
      timers.cancel(Recheck.INSTANCE);
      if (line != null) {
        line = null;
        NodeProblems.get(context.getSystem()).unregister(PROBLEM_PART, problem);
        if (here) {
          context
              .getLog()
              .info(
                  "{} nodes with role {} are Up: the queue's shard coordinator on this node places"
                      + " queue entities again",
                  up,
                  role);
        } else {
          context
              .getLog()
              .info(
                  "the queue's shard coordinator no longer runs on this node (it leaves, or an"
                      + " older queue node is Up)");
        }
      }
    } else if (line != null) {
      line = verdict; // said already: the count in /status follows
    } else if (!settled) {
      if (!timers.isTimerActive(Recheck.INSTANCE)) {
        timers.startSingleTimer(Recheck.INSTANCE, SETTLE);
      }
    } else {
      line = verdict;
      NodeProblems.get(context.getSystem()).register(PROBLEM_PART, problem);
      context.getLog().warn(verdict);
    }
    return Behaviors.same();
  }

  /** The problem with {@code up} queue nodes Up. */
  private String verdict(int up) {
    return String.format(
        "the queue's shard coordinator runs on this node now and places no queue entity while"
            + " fewer than pekko.cluster.role.%s.min-nr-of-members = %d nodes with role %s are Up"
            + " (%d are): the entities of a queue node that went do not start again, and their"
            + " tasks wait. Start %d more queue node(s), or restart this node without that setting"
            + " (it is meant for a cluster's first start: give it to the first node only)",
        role, minMembers, role, up, minMembers - up);
  }

  private String problem() {
    return line;
  }
}
