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
   * True when {@code id} has this class's shape, {@code r<13 digits>-<8 hex digits>}: only such ids
   * order by start time (tests and benchmarks name runs freely, e.g. {@code run-1}).
   */
  public static boolean isRunId(String id) {
    if (id == null || id.length() != 23 || id.charAt(0) != 'r' || id.charAt(14) != '-') {
      return false;
    }
    for (int i = 1; i < 14; i++) {
      if (id.charAt(i) < '0' || id.charAt(i) > '9') {
        return false;
      }
    }
    for (int i = 15; i < 23; i++) {
      if (Character.digit(id.charAt(i), 16) < 0) {
        return false;
      }
    }
    return true;
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
