package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.Wallet;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One run of {@code prover-node load}: submits signed transfers to the appchain service at a fixed
 * rate for a while, checks every answer against what the transfer was meant to get, and optionally
 * waits until every accepted transfer is proven.
 *
 * <p>What a reader must not miss: a sender has at most one transfer in flight, so its nonces reach
 * the service in order, and a transfer whose answer never came (the service died, timed out or said
 * UNAVAILABLE) is not retried but resolved by its status once the service answers again: accepted
 * ones go to the record like any other, and the sender's nonce is read again after one that was
 * not. Submissions pause while the service does not answer; the ticks of the schedule that fall in
 * that time are counted as paused, not made up later.
 *
 * <p>Its parts: {@link LoadSenders} (the senders, their nonces and the transfers signed ahead),
 * {@link LoadPacer} (the schedule, the submissions and the transfers of unknown fate), {@link
 * LoadTally} (the counters, the check of every answer, the progress and summary lines), {@link
 * LoadProofWait} ({@code --wait-proven} and the proving latencies) and {@link LoadRecord} (the
 * {@code --record} file).
 */
final class LoadRun {
  /** How often the progress line is printed. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * How often a service that stopped answering is asked again, and the proven height polled: a
   * restart is noticed within this, and proving latencies are measured to this resolution.
   */
  static final Duration POLL_EVERY = Duration.ofMillis(200);

  /**
   * What to run.
   *
   * @param rate transfers per second (above 0)
   * @param duration the submission window
   * @param invalidEvery every n-th transfer is invalid (0: none)
   * @param record file the accepted transfers are appended to (one JSON line each), or null
   * @param waitProven how long to wait after the window for every accepted transfer to be proven,
   *     or null not to wait
   * @param resolveWait how long to wait after the window for a silent service to answer, so that
   *     transfers of unknown fate are resolved (at the start, at most {@link
   *     LoadCommand#RESOLVE_WAIT} of it: {@link LoadSenders#startWait})
   */
  record Settings(
      double rate,
      Duration duration,
      int invalidEvery,
      Path record,
      Duration waitProven,
      Duration resolveWait) {}

  private final Settings settings;
  private final PrintStream err;
  private final LoadRecord record;
  private final LoadTally tally;
  private final LoadSenders senders;
  private final LoadProofWait proofs;
  private final LoadPacer pacer;

  /**
   * @param wallets every wallet of the service's genesis (recipients are drawn among them)
   * @param funded the funded ones: the senders
   * @param seed seeds the choice of senders, recipients and amounts
   */
  LoadRun(
      Settings settings,
      AppchainClient client,
      List<Wallet> wallets,
      List<Wallet> funded,
      long seed,
      PrintStream out,
      PrintStream err) {
    this.settings = settings;
    this.err = err;
    this.record = new LoadRecord(settings.record());
    this.tally = new LoadTally(settings, record, out);
    this.senders = new LoadSenders(settings, client, wallets, funded, seed, out, err);
    this.proofs = new LoadProofWait(settings, client, tally);
    this.pacer = new LoadPacer(settings, client, senders, tally, proofs);
  }

  /**
   * Runs the load; prints progress and the summary to {@code out}, and one line on {@code err} when
   * something did not match.
   *
   * @return 0 when every answer matched (and every accepted transfer was proven in time, if asked
   *     for), 1 otherwise
   */
  int run() throws InterruptedException {
    ScheduledExecutorService scheduler =
        Executors.newScheduledThreadPool(
            2,
            runnable -> {
              Thread thread = new Thread(runnable, "load-poller");
              thread.setDaemon(true);
              return thread;
            });
    try {
      if (!senders.readNonces()) {
        return 1;
      }
      if (!record.open(err)) {
        return 1;
      }
      long startNanos = System.nanoTime();
      scheduler.scheduleWithFixedDelay( // no burst of lines after a pause
          () -> tally.printProgress(startNanos, pacer.serviceDown()),
          PROGRESS_EVERY.toMillis(),
          PROGRESS_EVERY.toMillis(),
          TimeUnit.MILLISECONDS);
      scheduler.scheduleWithFixedDelay(
          pacer::pollRound, POLL_EVERY.toMillis(), POLL_EVERY.toMillis(), TimeUnit.MILLISECONDS);
      long windowNanos = pacer.pace(startNanos);
      tally.windowEnded(windowNanos);
      List<String> problems = new ArrayList<>();
      pacer.finishSubmissions(problems);
      LoadProofWait.Proving proving =
          settings.waitProven() == null || tally.failed()
              ? null
              : proofs.waitProven(problems, startNanos);
      tally.printSummary(windowNanos, proving, startNanos);
      tally.addProblems(problems);
      if (!problems.isEmpty()) {
        err.println("load: " + String.join("; ", problems));
        return 1;
      }
      return 0;
    } finally {
      scheduler.shutdownNow();
      senders.stop();
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
      record.close(err);
    }
  }
}
