package dev.pekkoprover.sequencer;

import java.time.Duration;

/**
 * When a journal failure that repeats for as long as its database is away deserves an ERROR line:
 * an event-sourced behavior restarted with backoff fails its recovery on every attempt, which was
 * one line per attempt, a dozen a minute per store. The first failure of an outage is said at once,
 * later ones at most once per {@link #REPEAT} with how long the outage has lasted and how many
 * attempts failed. An outage ends after {@link #REPEAT} without a failure, not at a recovery: a
 * database that reads but refuses writes (a read-only failover, a full disk) recovers the store
 * before each failed write, and each cycle would otherwise be a new outage with its own line. Not
 * thread-safe: used on one actor's thread.
 */
public final class OutageLines {
  /** At most one line per this interval while the outage lasts, after its first. */
  public static final Duration REPEAT = Duration.ofSeconds(60);

  private long since;
  private long lastLine;
  private long lastFailure;
  private int attempts;
  private boolean failing;

  /**
   * A failure at {@code nanoTime}.
   *
   * @return whether it gets a line: the first of an outage, or the first {@link #REPEAT} after the
   *     last line
   */
  public boolean failed(long nanoTime) {
    if (failing && nanoTime - lastFailure >= REPEAT.toNanos()) {
      failing = false; // quiet for a minute: that outage is over
    }
    lastFailure = nanoTime;
    if (!failing) {
      failing = true;
      attempts = 1;
      since = nanoTime;
      lastLine = nanoTime;
      return true;
    }
    attempts++;
    if (nanoTime - lastLine >= REPEAT.toNanos()) {
      lastLine = nanoTime;
      return true;
    }
    return false;
  }

  /**
   * What a line adds after the outage's first: {@code " (failing for 62 s, 9 attempts; the next
   * line in a minute at the earliest)"}; "" for the first.
   */
  public String note(long nanoTime) {
    return failing && attempts > 1
        ? " (failing for "
            + (nanoTime - since) / 1_000_000_000
            + " s, "
            + attempts
            + " attempts; the next line in a minute at the earliest)"
        : "";
  }
}
