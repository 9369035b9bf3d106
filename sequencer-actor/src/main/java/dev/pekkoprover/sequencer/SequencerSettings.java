package dev.pekkoprover.sequencer;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code prover.sequencer}: the timings and bounds of flows, of start-up and of the registration
 * loop, read once when the sequencer starts (defaults, and why each, in this module's {@code
 * reference.conf}).
 *
 * @param resendAfter a task whose outcome has not come back this long after it was sent is asked
 *     about ({@code CheckHeld}); zero never asks (one JVM, where nothing is lost)
 * @param resendBackoffMax later checks of the same task wait 2x, 4x ... resendAfter, at most this
 *     many times it (a factor, at least 1)
 * @param checkIdsPerMessage task ids in one {@code CheckHeld} at most
 * @param checkIdsPerTick task ids a flow asks about per check tick at most; the rest stay due for
 *     the next ticks
 * @param checkTickMin the check tick comes every resendAfter / 4, but not more often than this
 * @param lossCheckInterval after a queue node was lost, queued tasks are asked about this often ...
 * @param lossCheckWindow ... for this long
 * @param registrationCheckInterval how often the registration loop asks whether the queue still
 *     holds its task; zero never asks
 * @param registrationRetry how long the registration loop waits to offer again after its task
 *     failed for good
 * @param registrationOffers how many registration tasks the loop keeps on offer at once, so that as
 *     many Unprepared workers register at the same time (at least 1)
 * @param startupRetry how long to wait before compiling the circuits again after compilation failed
 * @param startupMaxWaiting requests (flows, stored-flow questions) held while start-up runs; a flow
 *     beyond fails
 * @param progressTimeout how long a status request waits for the running flows' progress
 * @param storeStatsTimeout how long a store-statistics request waits for the result store's writer
 */
public record SequencerSettings(
    Duration resendAfter,
    int resendBackoffMax,
    int checkIdsPerMessage,
    int checkIdsPerTick,
    Duration checkTickMin,
    Duration lossCheckInterval,
    Duration lossCheckWindow,
    Duration registrationCheckInterval,
    Duration registrationRetry,
    int registrationOffers,
    Duration startupRetry,
    int startupMaxWaiting,
    Duration progressTimeout,
    Duration storeStatsTimeout) {

  public SequencerSettings {
    requireNotNegative("resend-after", resendAfter);
    requireNotNegative("registration-check-interval", registrationCheckInterval);
    requirePositive("check-tick-min", checkTickMin);
    requirePositive("loss-check-interval", lossCheckInterval);
    requireNotNegative("loss-check-window", lossCheckWindow);
    requirePositive("registration-retry", registrationRetry);
    requirePositive("startup-retry", startupRetry);
    requirePositive("progress-timeout", progressTimeout);
    requirePositive("store-stats-timeout", storeStatsTimeout);
    requireAtLeastOne("resend-backoff-max", resendBackoffMax);
    requireAtLeastOne("check-ids-per-message", checkIdsPerMessage);
    requireAtLeastOne("check-ids-per-tick", checkIdsPerTick);
    requireAtLeastOne("startup-max-waiting", startupMaxWaiting);
    requireAtLeastOne("registration-offers", registrationOffers);
  }

  /**
   * Reads {@code prover.sequencer} of a node's configuration; throws naming the setting when one is
   * out of range.
   */
  public static SequencerSettings fromConfig(Config root) {
    Config config = root.getConfig("prover.sequencer");
    return new SequencerSettings(
        config.getDuration("resend-after"),
        config.getInt("resend-backoff-max"),
        config.getInt("check-ids-per-message"),
        config.getInt("check-ids-per-tick"),
        config.getDuration("check-tick-min"),
        config.getDuration("loss-check-interval"),
        config.getDuration("loss-check-window"),
        config.getDuration("registration-check-interval"),
        config.getDuration("registration-retry"),
        config.getInt("registration-offers"),
        config.getDuration("startup-retry"),
        config.getInt("startup-max-waiting"),
        config.getDuration("progress-timeout"),
        config.getDuration("store-stats-timeout"));
  }

  /** These settings with another {@code registration-offers}. */
  public SequencerSettings withRegistrationOffers(int value) {
    return new SequencerSettings(
        resendAfter,
        resendBackoffMax,
        checkIdsPerMessage,
        checkIdsPerTick,
        checkTickMin,
        lossCheckInterval,
        lossCheckWindow,
        registrationCheckInterval,
        registrationRetry,
        value,
        startupRetry,
        startupMaxWaiting,
        progressTimeout,
        storeStatsTimeout);
  }

  /** These settings with another {@code resend-after}. */
  public SequencerSettings withResendAfter(Duration value) {
    return new SequencerSettings(
        value,
        resendBackoffMax,
        checkIdsPerMessage,
        checkIdsPerTick,
        checkTickMin,
        lossCheckInterval,
        lossCheckWindow,
        registrationCheckInterval,
        registrationRetry,
        registrationOffers,
        startupRetry,
        startupMaxWaiting,
        progressTimeout,
        storeStatsTimeout);
  }

  /**
   * How often a flow looks for overdue tasks: a quarter of resend-after, at least {@code
   * check-tick-min}.
   */
  Duration checkTick() {
    Duration every = resendAfter.dividedBy(4);
    return every.compareTo(checkTickMin) < 0 ? checkTickMin : every;
  }

  private static void requireNotNegative(String name, Duration value) {
    if (value == null || value.isNegative()) {
      throw new IllegalArgumentException(
          "prover.sequencer." + name + " must be zero or more, was " + value);
    }
  }

  private static void requirePositive(String name, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(
          "prover.sequencer." + name + " must be positive, was " + value);
    }
  }

  private static void requireAtLeastOne(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(
          "prover.sequencer." + name + " must be at least 1, was " + value);
    }
  }
}
