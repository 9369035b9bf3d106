package dev.pekkoprover.worker;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Objects;

/**
 * A worker's settings, read once from {@code prover.worker} (defaults in this module's {@code
 * reference.conf}).
 *
 * @param workerId names the worker in the queue's registry and in every log line; unique per node
 *     and cluster
 * @param concurrency tasks the worker runs at once (the capacity it announces to the queue)
 * @param restartMinBackoff first delay before a crashed worker restarts
 * @param restartMaxBackoff longest delay between restarts of a worker that keeps crashing
 * @param restartRandomFactor jitter added to each restart delay
 * @param restartResetAfter a worker that ran this long without crashing starts again from the
 *     shortest delay
 * @param computeDispatcher config path of the dispatcher that runs {@code compute} and {@code
 *     prepare}
 * @param announceInterval how often the worker repeats what it serves, so that a queue that lost
 *     its state (a sharded queue entity moved to another node) learns it again; zero turns the
 *     repetition off
 * @param maxResultBytes largest serialised result the worker sends to a queue on another node; a
 *     larger one fails its task for good with the reason. 0 (the single-JVM default) checks
 *     nothing; the cluster deployment sets it to {@code prover.queue.cluster.max-payload-size}
 * @param cancelGrace how long a cancelled compute may take to return after its thread was
 *     interrupted; one still running then is hung, and the worker restarts (abandoning the thread)
 *     so that it can take work again
 * @param reportLoad whether to report each change of what the worker holds ({@link
 *     dev.pekkoprover.protocol.QueueCommand.WorkerLoad}) besides the periodic report: needed where
 *     the queue is sharded (several entities share the worker's slots); false for a queue in one
 *     JVM, which knows it already
 * @param maxReportsPerMessage most reports one message carries to a queue on another node; a batch
 *     that reaches it goes out at once instead of waiting for the worker's flush, so that several
 *     batches are in flight between the nodes and both work at once (see {@code
 *     prover.worker.max-reports-per-message}); 0: no limit. A queue in the same JVM always gets the
 *     whole batch
 * @param checkEveryResult check every result against {@code maxResultBytes} and for its read-back,
 *     also one bound for a queue in the same JVM ({@code prover.queue.check-payloads-in-one-jvm});
 *     false checks only those bound for another node
 */
public record WorkerSettings(
    String workerId,
    int concurrency,
    Duration restartMinBackoff,
    Duration restartMaxBackoff,
    double restartRandomFactor,
    Duration restartResetAfter,
    String computeDispatcher,
    Duration announceInterval,
    long maxResultBytes,
    Duration cancelGrace,
    boolean reportLoad,
    int maxReportsPerMessage,
    boolean checkEveryResult) {

  public WorkerSettings {
    Objects.requireNonNull(announceInterval, "announceInterval");
    Objects.requireNonNull(restartResetAfter, "restartResetAfter");
    Objects.requireNonNull(cancelGrace, "cancelGrace");
    if (cancelGrace.isNegative() || cancelGrace.isZero()) {
      throw new IllegalArgumentException(
          "prover.worker.cancel-grace must be positive, was " + cancelGrace);
    }
    if (announceInterval.isNegative()) {
      throw new IllegalArgumentException(
          "prover.worker.announce-interval must not be negative, was " + announceInterval);
    }
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(restartMinBackoff, "restartMinBackoff");
    Objects.requireNonNull(restartMaxBackoff, "restartMaxBackoff");
    Objects.requireNonNull(computeDispatcher, "computeDispatcher");
    if (maxResultBytes < 0) {
      throw new IllegalArgumentException(
          "the result size limit must not be negative, was " + maxResultBytes);
    }
    if (maxReportsPerMessage < 0) {
      throw new IllegalArgumentException(
          "prover.worker.max-reports-per-message must not be negative (0: no limit), was "
              + maxReportsPerMessage);
    }
    if (workerId.isBlank()) {
      throw new IllegalArgumentException("workerId must not be blank");
    }
    if (concurrency < 1) {
      throw new IllegalArgumentException(
          "prover.worker.concurrency must be at least 1, was "
              + concurrency
              + " (worker "
              + workerId
              + ")");
    }
    if (restartMinBackoff.isNegative() || restartMinBackoff.isZero()) {
      throw new IllegalArgumentException(
          "prover.worker.restart.min-backoff must be positive, was " + restartMinBackoff);
    }
    if (restartMaxBackoff.compareTo(restartMinBackoff) < 0) {
      throw new IllegalArgumentException(
          "prover.worker.restart.max-backoff ("
              + restartMaxBackoff
              + ") must not be below min-backoff ("
              + restartMinBackoff
              + ")");
    }
    if (restartRandomFactor < 0 || restartRandomFactor > 1) {
      throw new IllegalArgumentException(
          "prover.worker.restart.random-factor must be between 0 and 1, was "
              + restartRandomFactor);
    }
  }

  /**
   * Reads {@code prover.worker} from a full config (an actor system's, or {@code
   * ConfigFactory.load()}).
   */
  public static WorkerSettings fromConfig(Config config, String workerId) {
    Config worker = config.getConfig("prover.worker");
    return new WorkerSettings(
        workerId,
        worker.getInt("concurrency"),
        worker.getDuration("restart.min-backoff"),
        worker.getDuration("restart.max-backoff"),
        worker.getDouble("restart.random-factor"),
        worker.getDuration("restart.reset-after"),
        worker.getString("compute-dispatcher-path"),
        worker.getDuration("announce-interval"),
        0,
        worker.getDuration("cancel-grace"),
        false,
        worker.getInt("max-reports-per-message"),
        false);
  }

  /** The same settings with another number of tasks at once. */
  public WorkerSettings withConcurrency(int newConcurrency) {
    return with(newConcurrency, maxResultBytes, reportLoad, checkEveryResult);
  }

  /** The same settings with a limit on results sent to another node (0: none). */
  public WorkerSettings withMaxResultBytes(long newMaxResultBytes) {
    return with(concurrency, newMaxResultBytes, reportLoad, checkEveryResult);
  }

  /** The same settings for a worker of a sharded queue (true) or of a queue in one JVM (false). */
  public WorkerSettings withReportLoad(boolean newReportLoad) {
    return with(concurrency, maxResultBytes, newReportLoad, checkEveryResult);
  }

  /**
   * The same settings checking every result (true) or only those bound for another node (false).
   */
  public WorkerSettings withCheckEveryResult(boolean newCheckEveryResult) {
    return with(concurrency, maxResultBytes, reportLoad, newCheckEveryResult);
  }

  private WorkerSettings with(
      int newConcurrency,
      long newMaxResultBytes,
      boolean newReportLoad,
      boolean newCheckEveryResult) {
    return new WorkerSettings(
        workerId,
        newConcurrency,
        restartMinBackoff,
        restartMaxBackoff,
        restartRandomFactor,
        restartResetAfter,
        computeDispatcher,
        announceInterval,
        newMaxResultBytes,
        cancelGrace,
        newReportLoad,
        maxReportsPerMessage,
        newCheckEveryResult);
  }
}
