package dev.pekkoprover.node;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Decides which refusals of a peer become a log line: the first of each kind (same direction,
 * reason and peer), then at most one per {@code every} with the number of refusals since. A
 * stranger's node retries its connection every few seconds for as long as it runs; one line per
 * peer says what an operator needs, a line per retry would bury the log. A kind not refused for
 * twice {@code every} is forgotten, with the repeats not yet counted in a line: keys often name a
 * peer's incarnation, and a long-running node meets many. Thread-safe: engines on several threads
 * report here.
 */
public final class PeerRefusals {
  private record Seen(long lastLogged, long suppressed) {}

  private final long everyNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Seen> seen = new ConcurrentHashMap<>();
  private volatile long lastSweep;

  /**
   * @param nanoClock monotonic nanoseconds ({@code System::nanoTime}; a test's own)
   */
  public PeerRefusals(Duration every, LongSupplier nanoClock) {
    this.everyNanos = every.toNanos();
    this.nanoClock = nanoClock;
    this.lastSweep = nanoClock.getAsLong();
  }

  /**
   * The line to log for this refusal ({@code line} with, after the first, the count of refusals not
   * logged since), or null if one of this kind was logged less than {@code every} ago.
   *
   * @param key what makes two refusals the same kind (e.g. direction, peer and reason)
   */
  public String report(String key, String line) {
    long now = nanoClock.getAsLong();
    if (now - lastSweep >= everyNanos) {
      lastSweep = now;
      seen.values().removeIf(kind -> now - kind.lastLogged() >= 2 * everyNanos);
    }
    String[] out = new String[1];
    seen.compute(
        key,
        (k, previous) -> {
          if (previous == null) {
            out[0] = line;
            return new Seen(now, 0);
          }
          if (now - previous.lastLogged() >= everyNanos) {
            out[0] =
                line
                    + " ("
                    + (previous.suppressed() + 1)
                    + " refusals of this kind since the last line)";
            return new Seen(now, 0);
          }
          return new Seen(previous.lastLogged(), previous.suppressed() + 1);
        });
    return out[0];
  }
}
