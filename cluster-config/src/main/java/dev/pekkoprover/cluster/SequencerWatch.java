package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.pekkoprover.node.MembershipEvents;
import dev.pekkoprover.node.ProverNode;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;

/**
 * On a node without the sequencer role: watches whether a member with role {@code sequencer} is Up
 * and reachable. Once none has been for {@code prover.worker.sequencer-absent-after} (counted from
 * when the last one went, or from this node's own Up), one WARN line says since when, the last
 * sequencer node seen ({@code never seen} if none) and what this node does; then it is quiet, but
 * for a reminder every {@link #REMIND_EVERY}, until a sequencer node is Up and reachable again,
 * which one INFO line says. With {@code prover.worker.exit-without-sequencer} (the launcher's
 * {@code --exit-without-sequencer}) the node instead leaves the cluster and its process exits with
 * {@link NodeExit#NO_SEQUENCER}. Absences shorter than the setting (a sequencer node restarted, a
 * standby taking over) say nothing.
 */
final class SequencerWatch {
  private SequencerWatch() {}

  /**
   * How often a node still without a sequencer says so again: an operator who attaches to the log
   * (a {@code tail}, {@code journalctl -f}) learns the state within 10 minutes, while the log gets
   * 6 such lines an hour, not one per check; the same bound as {@link RepeatedRefusalFilter}'s.
   */
  static final Duration REMIND_EVERY = Duration.ofMinutes(10);

  /** How often the rule is looked at: the precision of the absence's length. */
  private static final Duration TICK = Duration.ofSeconds(1);

  /**
   * The watch's settings.
   *
   * @param absentAfter how long no sequencer node may be Up and reachable before the line
   *     (positive)
   * @param exit leave and exit instead of waiting
   */
  record Settings(Duration absentAfter, boolean exit) {
    /**
     * From {@code prover.worker.sequencer-absent-after} and {@code
     * prover.worker.exit-without-sequencer}.
     *
     * @throws ConfigException when either is missing or the duration is not positive
     */
    static Settings from(Config config) {
      Duration after = config.getDuration("prover.worker.sequencer-absent-after");
      if (after.isNegative() || after.isZero()) {
        throw new ConfigException.BadValue(
            "prover.worker.sequencer-absent-after", "must be positive, was " + after);
      }
      return new Settings(after, config.getBoolean("prover.worker.exit-without-sequencer"));
    }
  }

  /** What one cluster event says to the rule. */
  enum Kind {
    /** A sequencer member is Up. */
    UP,
    /** A sequencer member is no longer Up (leaving, exiting, downed, removed). */
    NOT_UP,
    UNREACHABLE,
    REACHABLE,
    /** This node itself is Up: absence counts from now at the earliest. */
    SELF_UP
  }

  /**
   * One cluster event as the rule sees it.
   *
   * @param id the member's incarnation (its unique address)
   * @param node its host:port
   */
  record Sighting(String id, String node, Kind kind) {}

  /**
   * What the rule says.
   *
   * @param line the log line
   * @param warn WARN (no sequencer) or INFO (one is back)
   * @param exit leave the cluster and exit now
   */
  record Notice(String line, boolean warn, boolean exit) {}

  /**
   * The sighting in {@code event} for a member with role sequencer other than {@code self}, or this
   * node's own Up; null for any other event.
   */
  static Sighting sighting(ClusterEvent.ClusterDomainEvent event, UniqueAddress self) {
    Member member;
    Kind kind;
    if (event instanceof ClusterEvent.MemberEvent e) {
      member = e.member();
      kind = member.status() == MemberStatus.up() ? Kind.UP : Kind.NOT_UP;
    } else if (event instanceof ClusterEvent.UnreachableMember e) {
      member = e.member();
      kind = Kind.UNREACHABLE;
    } else if (event instanceof ClusterEvent.ReachableMember e) {
      member = e.member();
      kind = Kind.REACHABLE;
    } else {
      return null;
    }
    if (member.uniqueAddress().equals(self)) {
      return kind == Kind.UP ? new Sighting(self.toString(), hostPort(member), Kind.SELF_UP) : null;
    }
    if (!member.hasRole(ProverNode.SEQUENCER_ROLE)) {
      return null;
    }
    return new Sighting(member.uniqueAddress().toString(), hostPort(member), kind);
  }

  private static String hostPort(Member member) {
    return ProverNode.hostPort(member.address());
  }

  /**
   * The rule, without actors or clocks: sightings and the time (monotonic nanoseconds, e.g. {@link
   * System#nanoTime}) in, notices out.
   */
  static final class Absence {
    private final Settings settings;

    /** Sequencer members Up, by id: their host:port. */
    private final Map<String, String> up = new HashMap<>();

    private final Set<String> unreachable = new HashSet<>();
    private boolean selfUp;
    private boolean present;
    private long absentSince;
    private String lastSeen;
    private boolean reported;
    private long lastReport;

    /**
     * @param startNanos when the watch starts (nanoseconds): none seen yet
     */
    Absence(Settings settings, long startNanos) {
      this.settings = settings;
      this.absentSince = startNanos;
    }

    /**
     * Takes in one sighting; returns the INFO notice when a sequencer node is Up and reachable
     * again after an absence that was reported, else null.
     */
    Notice seen(Sighting sighting, long nowNanos) {
      switch (sighting.kind()) {
        case UP -> up.put(sighting.id(), sighting.node());
        case NOT_UP -> {
          up.remove(sighting.id());
          unreachable.remove(sighting.id());
        }
        case UNREACHABLE -> unreachable.add(sighting.id());
        case REACHABLE -> unreachable.remove(sighting.id());
        case SELF_UP -> {
          if (!selfUp && !present) {
            absentSince = nowNanos; // a node out of the cluster cannot see one: WaitingForPeers
          }
          selfUp = true;
        }
      }
      String reachableNode = null;
      for (Map.Entry<String, String> member : up.entrySet()) {
        if (!unreachable.contains(member.getKey())) {
          reachableNode = member.getValue();
          break;
        }
      }
      boolean wasPresent = present;
      present = reachableNode != null;
      if (present) {
        String before = lastSeen;
        lastSeen = reachableNode;
        if (!wasPresent) {
          boolean wasReported = reported;
          reported = false;
          if (wasReported) {
            return new Notice(
                String.format(
                    "sequencer node %s is %s after %d s without one: this node goes on",
                    reachableNode, before == null ? "Up" : "back", seconds(nowNanos - absentSince)),
                false,
                false);
          }
        }
      } else if (wasPresent) {
        absentSince = nowNanos;
      }
      return null;
    }

    /**
     * The WARN notice when no sequencer node has been Up and reachable for the setting's time (once
     * per absence, then every {@link #REMIND_EVERY} unless it exits), else null.
     *
     * @param wallNow the wall-clock time now, for the line's "since"
     */
    Notice tick(long nowNanos, Instant wallNow) {
      if (present || !selfUp) {
        return null;
      }
      long absent = nowNanos - absentSince;
      boolean first = !reported && absent >= settings.absentAfter().toNanos();
      boolean again =
          reported && !settings.exit() && nowNanos - lastReport >= REMIND_EVERY.toNanos();
      if (!first && !again) {
        return null;
      }
      reported = true;
      lastReport = nowNanos;
      Instant since = wallNow.minusNanos(absent).truncatedTo(ChronoUnit.SECONDS);
      String does =
          settings.exit()
              ? "this node leaves the cluster and exits with code "
                  + NodeExit.NO_SEQUENCER
                  + " (--exit-without-sequencer)"
              : "this node keeps waiting (its workers take tasks again once one is back) and says "
                  + "so again every "
                  + REMIND_EVERY.toMinutes()
                  + " minutes";
      return new Notice(
          String.format(
              "%sno sequencer node Up and reachable for %d s (since %s; last seen: %s): %s",
              first ? "" : "still ",
              seconds(absent),
              since,
              lastSeen == null ? "never seen" : lastSeen,
              does),
          true,
          settings.exit());
    }

    private static long seconds(long nanos) {
      return Duration.ofNanos(nanos).toSeconds();
    }
  }

  private interface Command extends NoSerializationVerificationNeeded {}

  private record Event(ClusterEvent.ClusterDomainEvent event) implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  /** Starts the watch on {@code system}'s cluster; it ends with the actor system. */
  static void start(ActorSystem<?> system, Settings settings) {
    system.systemActorOf(create(settings), "sequencer-watch", Props.empty());
  }

  private static Behavior<Command> create(Settings settings) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(SequencerWatch.class);
                  UniqueAddress self =
                      Cluster.get(context.getSystem()).selfMember().uniqueAddress();
                  Absence absence = new Absence(settings, System.nanoTime());
                  MembershipEvents.subscribe(context, Event::new, Event::new);
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
                  return Behaviors.receive(Command.class)
                      .onMessage(
                          Event.class,
                          message -> {
                            Sighting sighting = sighting(message.event(), self);
                            if (sighting != null) {
                              say(context.getLog(), absence.seen(sighting, System.nanoTime()));
                            }
                            return Behaviors.same();
                          })
                      .onMessageEquals(
                          Tick.INSTANCE,
                          () -> {
                            Notice notice = absence.tick(System.nanoTime(), Instant.now());
                            say(context.getLog(), notice);
                            if (notice == null || !notice.exit()) {
                              return Behaviors.same();
                            }
                            CoordinatedShutdown.get(context.getSystem())
                                .runAll(NodeExit.NoSequencer.INSTANCE);
                            return Behaviors.stopped();
                          })
                      .build();
                }));
  }

  private static void say(Logger log, Notice notice) {
    if (notice == null) {
      return;
    }
    if (notice.warn()) {
      log.warn(notice.line());
    } else {
      log.info(notice.line());
    }
  }
}
