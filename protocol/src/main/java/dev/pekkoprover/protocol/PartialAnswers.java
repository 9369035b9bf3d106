package dev.pekkoprover.protocol;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * The log of one recurring gathering (the queue front's stats and fleet view, asked every few
 * seconds): a WARN line when a gathering first comes back partial, nothing more while the next ones
 * do too (DEBUG), and one INFO line when every answerer answers again. While a queue node is
 * unreachable, every gathering misses its entities until sharding moves them, so without this the
 * same WARN came every few seconds for as long as that took. When the owner knows such a reason
 * (its {@code expectedBecause}), the first line is INFO and names it: no WARN for what is normal (a
 * trial's every node logged the WARN while a queue node was lost).
 *
 * <p>Shared by the {@link KeyedGather} actors its owner spawns in its own JVM (never sent);
 * thread-safe.
 */
public final class PartialAnswers {
  private final String what;

  /** Partial gatherings since the last complete one: 0 while all answer. */
  private final AtomicInteger partial = new AtomicInteger();

  /** Why answers are missing for a known, normal reason now; null: none known. */
  private final Supplier<String> expectedBecause;

  /** Said in the WARN, in parentheses after the count: where to look; "" when nothing. */
  private final String unexplained;

  /**
   * @param what names the gathering in the log lines, e.g. {@code "queue stats (queue entities)"}
   */
  public PartialAnswers(String what) {
    this(what, () -> null);
  }

  /**
   * @param expectedBecause read when a run of partial gatherings begins: a reason that makes them
   *     normal (a queue node unreachable or leaving, whose entities answer once they run
   *     elsewhere), which the line gives at INFO instead of the WARN; null when none is known
   */
  public PartialAnswers(String what, Supplier<String> expectedBecause) {
    this(what, expectedBecause, null);
  }

  /**
   * @param unexplained what the WARN adds when no reason is known, so that its reader knows where
   *     to look (for the queue's entities: a node just lost, before the failure detector marks it,
   *     or one too busy to answer); null: nothing
   */
  public PartialAnswers(String what, Supplier<String> expectedBecause, String unexplained) {
    this.what = what;
    this.expectedBecause = expectedBecause;
    this.unexplained = unexplained == null ? "" : " (" + unexplained + ")";
  }

  /** A gathering timed out with {@code answered} of {@code expected} answers. */
  void timedOut(Logger log, int answered, int expected, Duration timeout) {
    timedOut(log, answered, expected, timeout, null);
  }

  /**
   * A gathering replied with {@code answered} of {@code expected} answers after {@code timeout};
   * {@code standIn}, when not null, says what stands in for the missing ones (appended to the first
   * line).
   */
  void timedOut(Logger log, int answered, int expected, Duration timeout, String standIn) {
    String more = standIn == null ? "" : "; " + standIn;
    if (partial.getAndIncrement() == 0) {
      String because = expectedBecause.get();
      if (because != null) {
        log.info(
            "{}: {} of {} answered in {}, as expected while {}{}; further partial answers are"
                + " logged at DEBUG until all answer again",
            what,
            answered,
            expected,
            seconds(timeout),
            because,
            more);
        return;
      }
      log.warn(
          "{}: {} of {} answered in {}{}{}; further partial answers are logged at DEBUG until all"
              + " answer again",
          what,
          answered,
          expected,
          seconds(timeout),
          unexplained,
          more);
    } else if (log.isDebugEnabled()) {
      log.debug("{}: {} of {} answered in {}{}", what, answered, expected, seconds(timeout), more);
    }
  }

  /** "3 s", "0.3 s": as the other lines say durations, not Java's {@code PT3S}. */
  static String seconds(Duration timeout) {
    return java.math.BigDecimal.valueOf(timeout.toMillis(), 3).stripTrailingZeros().toPlainString()
        + " s";
  }

  /** A gathering got all {@code expected} answers. */
  void complete(Logger log, int expected) {
    int before = partial.getAndSet(0);
    if (before > 0) {
      log.info("{}: all {} answer again, after {} partial answer(s)", what, expected, before);
    }
  }

  /** Partial gatherings since the last complete one (for tests). */
  int partialSinceComplete() {
    return partial.get();
  }
}
