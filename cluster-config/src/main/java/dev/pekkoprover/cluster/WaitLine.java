package dev.pekkoprover.cluster;

import dev.pekkoprover.node.WaitingForPeers;
import java.time.Duration;

/**
 * One wait of a job, as its output says it: the wait's kind (the text before the first ':' of what
 * it waits for, "waiting for workers"), since when it goes on, and when it was last said. A job
 * says a wait when it starts, again every so often with how long it has lasted, and once when it is
 * over; a wait of another kind replaces it and starts its own clock. Shared by the appchain's
 * {@link JobProgress} and a plugin's {@link PluginJobWait}. Not thread-safe: its owner calls it
 * from one thread at a time. Times are {@link System#nanoTime()} values.
 */
final class WaitLine {
  /** What to show of a wait at one look: the line, and whether it is due to be said. */
  record Look(String line, boolean due) {}

  private String kind;
  private long since;
  private long saidAt;
  private boolean said;
  private String what;

  /**
   * The wait {@code what} ("waiting for workers: none is Ready ...") at {@code now}: its line with
   * how long it has waited ({@link #withWaited}), due when its kind is new, when {@code repeat} has
   * passed since it was last said (from the wait's first minute on, longer: {@link
   * WaitingForPeers#repeatAfter}), or (with {@code againWhenChanged}) when its text differs from
   * the last look's. A due look counts as said.
   */
  Look look(String what, long now, Duration repeat, boolean againWhenChanged) {
    String whatKind = kindOf(what);
    if (!whatKind.equals(kind)) {
      kind = whatKind;
      since = now;
      said = false;
    }
    // a long wait is said less often as it goes on (every 5 s for a minute, then every minute, then
    // every 10 minutes), as the node's own waiting lines are: a job waiting overnight for workers
    // printed 720 lines an hour
    boolean due =
        !said
            || (againWhenChanged && !what.equals(this.what))
            || now - saidAt >= WaitingForPeers.repeatAfter(repeat, now - since).toNanos();
    this.what = what;
    if (due) {
      said = true;
      saidAt = now;
    }
    return new Look(withWaited(what, (now - since) / 1_000_000_000L), due);
  }

  /** The kind of the wait going on, or null when none is. */
  String kind() {
    return kind;
  }

  /**
   * Ends the wait going on: how many whole seconds it lasted until {@code now}, or -1 when none was
   * going on (nothing to say). The next look starts a wait anew.
   */
  long end(long now) {
    if (kind == null) {
      return -1;
    }
    kind = null;
    what = null;
    return (now - since) / 1_000_000_000L;
  }

  /** The kind of {@code what}: its text before the first ':', or all of it without one. */
  static String kindOf(String what) {
    int colon = what.indexOf(':');
    return colon < 0 ? what : what.substring(0, colon);
  }

  /**
   * {@code what} ("waiting for workers: ...") with how long it has waited after its kind ("waiting
   * for workers for 10 s: ..."); as it is under 1 s.
   */
  static String withWaited(String what, long waitedSeconds) {
    if (waitedSeconds < 1) {
      return what;
    }
    String whatKind = kindOf(what);
    return whatKind + " for " + waitedSeconds + " s" + what.substring(whatKind.length());
  }
}
