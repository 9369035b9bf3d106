package dev.pekkoprover.protocol.metrics;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A histogram of durations for one writer: plain counters, no atomics and no clock, so a record on
 * an actor's hot path costs a short scan of the bucket bounds and three increments (a Micrometer
 * timer record reads the wall clock twice and updates four concurrent counters: about 140 ns here,
 * which a million tasks a second cannot pay twice per task). The owner hands a {@link Snapshot} to
 * {@link ProverMetrics#histogram} from time to time; the scrape renders the last one as a
 * Prometheus histogram ({@code _bucket}, {@code _count}, {@code _sum}). Not thread-safe.
 */
public final class TimeHistogram {

  /**
   * What a scrape shows.
   *
   * @param counts per bucket (not cumulative), the last one above the highest bound
   * @param sumNanos every recorded duration added up
   */
  public record Snapshot(long[] counts, long count, long sumNanos) {}

  private final long[] boundsNanos;
  private final long[] counts;
  private long count;
  private long sumNanos;

  public TimeHistogram(List<Duration> bounds) {
    this.boundsNanos = bounds.stream().mapToLong(Duration::toNanos).sorted().toArray();
    this.counts = new long[boundsNanos.length + 1];
  }

  /**
   * Records one duration; shortest buckets first, since most tasks are short next to the longest
   * bound.
   */
  public void record(long nanos) {
    int i = 0;
    while (i < boundsNanos.length && nanos > boundsNanos[i]) {
      i++;
    }
    counts[i]++;
    count++;
    sumNanos += nanos;
  }

  public Snapshot snapshot() {
    return new Snapshot(Arrays.copyOf(counts, counts.length), count, sumNanos);
  }
}
