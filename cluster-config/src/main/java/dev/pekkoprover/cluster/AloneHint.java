package dev.pekkoprover.cluster;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * Why a job may wait for workers that never come: after {@link #AFTER} as its cluster's only member
 * with no worker known, the node says {@link #line} once (again every {@link #REPEAT} while it
 * stays alone, with how long), and its waiting lines end with the short {@link #TAIL}. Not at an
 * ordinary first start, where workers come within seconds, but after a restart of the only stateful
 * node, where a trial met both cases the line names (README, "Failures in the cluster"). The
 * waiting line is said every 5 s: with the whole hint in each, a service node left without workers
 * printed 600 characters every 5 s. Used by {@link JobProgress} and {@link PluginJobWait};
 * thread-safe.
 */
final class AloneHint {
  static final Duration AFTER = Duration.ofSeconds(30);

  /** The whole hint is said again after this much, as long as the node stays alone. */
  static final Duration REPEAT = Duration.ofMinutes(10);

  /**
   * The whole hint, after {@code seconds} alone: {@code This node has been the only member of its
   * cluster for 30 s: if worker nodes run, ...}.
   */
  static String line(long seconds) {
    return LINE_START
        + seconds
        + " s: if worker nodes run, they are in a cluster of their own (a launcher's worker node that"
        + " names this node among its seeds and has no stateful node in its cluster leaves it"
        + " within about 15 s and exits with code 3, for its supervisor to restart it into this"
        + " one; otherwise give this node --seeds naming a running one first), or they exited with code 3 (a worker node downs itself once it has lost every"
        + " stateful node for about 11 s: a supervisor restarts it, else start it again)";
  }

  /** How {@link #line} begins, which {@link #TAIL} points back to. */
  static final String LINE_START = "This node has been the only member of its cluster for ";

  /** What a waiting line ends with once {@link #line} has been said. */
  static final String TAIL =
      "; still the only member of its cluster (why: the line 'This node has been the only member"
          + " ...' above)";

  /** When this node was first seen alone with no worker known; 0 when it is not. */
  private long aloneSince;

  /** When {@link #line} was said last in this time alone; 0: not yet. */
  private long saidAt;

  /**
   * Follows whether the node is alone at {@code now} (nanoTime), and hands {@code say} the whole
   * hint when it is due.
   *
   * @param alone this node is its cluster's only member and the queue knows no worker
   * @return what the waiting line ends with: {@link #TAIL} from the moment the hint is said, until
   *     the node is no longer alone; else ""
   */
  synchronized String next(boolean alone, long now, Consumer<String> say) {
    if (!alone) {
      aloneSince = 0;
      saidAt = 0;
      return "";
    }
    if (aloneSince == 0) {
      aloneSince = now;
    }
    if (now - aloneSince < AFTER.toNanos()) {
      return "";
    }
    if (saidAt == 0 || now - saidAt >= REPEAT.toNanos()) {
      say.accept(line((now - aloneSince) / 1_000_000_000L));
      saidAt = now;
    }
    return TAIL;
  }
}
