package dev.pekkoprover.protocol;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Sequencer run ids, ordered by start time: {@code r<13-digit epoch milliseconds>-<8 hex digits>},
 * so that comparing two ids as strings says which run started later. Workers use the order to tell
 * a task of a newer run (the sequencer restarted, or a standby took over: re-register, so the new
 * run's parameters apply) from a stale one of an older run. Hosts' clocks only need to agree to
 * within the time a sequencer takes to restart.
 */
public final class RunIds {
  private RunIds() {}

  /** A fresh run id, later than every id made earlier on this host's clock. */
  public static String next() {
    return String.format(
        "r%013d-%08x", System.currentTimeMillis(), ThreadLocalRandom.current().nextInt());
  }

  /**
   * True when run {@code candidate} started after run {@code current} (false for equal ids or a
   * null candidate).
   */
  public static boolean isNewer(String candidate, String current) {
    if (candidate == null) {
      return false;
    }
    if (current == null) {
      return true;
    }
    // the same instance, as every task of a run is in one JVM: a worker asks this per task
    return candidate != current && candidate.compareTo(current) > 0;
  }
}
