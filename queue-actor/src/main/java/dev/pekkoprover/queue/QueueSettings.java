package dev.pekkoprover.queue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The task queue's settings, read once from {@code prover.queue} (defaults and the reasons for them
 * in this module's {@code reference.conf}).
 *
 * @param defaultLease how long a worker may hold a task before it is given to another worker
 * @param leasePerType lease overrides by task type name
 * @param leaseCheckInterval how often overrun leases are looked for
 * @param maxAttempts attempts a task gets before it fails: failed computes and leases overrun on a
 *     live worker count
 * @param maxWorkerLosses times a task may be put back because its worker went away (stopped,
 *     crashed because of it, restarted, unreachable, a message lost in transit) before it fails as
 *     poison
 * @param lostAfter how long a dispatched task may be missing from its worker's load reports before
 *     it counts as lost in transit and is put back
 * @param retryMinBackoff delay before the first retry of a failed compute
 * @param retryMaxBackoff longest delay between retries
 * @param retryRandomFactor jitter added to each retry delay, 0 to 1
 * @param inlinePrefetch tasks of an inline type ({@code TaskType.runsInline()}, registration
 *     excepted) a worker may hold beyond its free slots, 0 or more: a deeper pipeline for cheap
 *     tasks across processes; never applied to other types
 */
public record QueueSettings(
    Duration defaultLease,
    Map<String, Duration> leasePerType,
    Duration leaseCheckInterval,
    int maxAttempts,
    int maxWorkerLosses,
    Duration lostAfter,
    Duration retryMinBackoff,
    Duration retryMaxBackoff,
    double retryRandomFactor,
    int inlinePrefetch) {

  public QueueSettings {
    Objects.requireNonNull(defaultLease, "defaultLease");
    Objects.requireNonNull(leaseCheckInterval, "leaseCheckInterval");
    Objects.requireNonNull(retryMinBackoff, "retryMinBackoff");
    Objects.requireNonNull(retryMaxBackoff, "retryMaxBackoff");
    leasePerType = Map.copyOf(Objects.requireNonNull(leasePerType, "leasePerType"));
    requirePositive("prover.queue.default-lease", defaultLease);
    leasePerType.forEach(
        (type, lease) -> requirePositive("prover.queue.lease-per-type." + type, lease));
    requirePositive("prover.queue.lease-check-interval", leaseCheckInterval);
    requirePositive("prover.queue.retry.min-backoff", retryMinBackoff);
    Objects.requireNonNull(lostAfter, "lostAfter");
    requirePositive("prover.queue.lost-after", lostAfter);
    if (maxWorkerLosses < 1) {
      throw new IllegalArgumentException(
          "prover.queue.max-worker-losses must be at least 1, was " + maxWorkerLosses);
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException(
          "prover.queue.max-attempts must be at least 1, was " + maxAttempts);
    }
    if (retryMaxBackoff.compareTo(retryMinBackoff) < 0) {
      throw new IllegalArgumentException(
          "prover.queue.retry.max-backoff ("
              + retryMaxBackoff
              + ") must not be below min-backoff ("
              + retryMinBackoff
              + ")");
    }
    if (inlinePrefetch < 0) {
      throw new IllegalArgumentException(
          "prover.queue.inline-prefetch must not be negative, was " + inlinePrefetch);
    }
    if (retryRandomFactor < 0 || retryRandomFactor > 1) {
      throw new IllegalArgumentException(
          "prover.queue.retry.random-factor must be between 0 and 1, was " + retryRandomFactor);
    }
  }

  /**
   * Reads {@code prover.queue} from a full config (an actor system's, or {@code
   * ConfigFactory.load()}).
   */
  public static QueueSettings fromConfig(Config config) {
    Config queue = config.getConfig("prover.queue");
    Config perType = queue.getConfig("lease-per-type");
    Map<String, Duration> leases = new LinkedHashMap<>();
    for (String type : perType.root().keySet()) {
      leases.put(type, perType.getDuration(ConfigUtil.joinPath(type)));
    }
    return new QueueSettings(
        queue.getDuration("default-lease"),
        leases,
        queue.getDuration("lease-check-interval"),
        queue.getInt("max-attempts"),
        queue.getInt("max-worker-losses"),
        queue.getDuration("lost-after"),
        queue.getDuration("retry.min-backoff"),
        queue.getDuration("retry.max-backoff"),
        queue.getDouble("retry.random-factor"),
        queue.getInt("inline-prefetch"));
  }

  /** The lease of tasks of this type. */
  public Duration leaseFor(String taskType) {
    return leasePerType.getOrDefault(taskType, defaultLease);
  }

  /**
   * The delay before the retry that follows the {@code failures}-th failure: min-backoff doubled
   * per earlier failure, capped at max-backoff, plus {@code random} (0 to 1) times the random
   * factor of jitter.
   */
  public Duration retryBackoff(int failures, double random) {
    double base = retryMinBackoff.toNanos() * Math.pow(2, Math.max(0, failures - 1));
    double capped = Math.min(base, retryMaxBackoff.toNanos());
    return Duration.ofNanos((long) (capped * (1.0 + random * retryRandomFactor)));
  }

  private static void requirePositive(String key, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(key + " must be positive, was " + value);
    }
  }
}
