package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.RefusalReason;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tally of a {@link LoadRun}: counts the ticks of the schedule and the answers, checks every
 * answer against what its transfer should get, keeps the accepted transfers (appending each to the
 * record), and prints the progress line and the summary lines.
 *
 * <p>Units: counters count transfers (or ticks of the schedule), rates are transfers per second,
 * times on the lines are seconds with one decimal, latencies milliseconds.
 *
 * <p>What a reader must not miss: checking an answer also sets what the sender's next nonce is: one
 * past an accepted transfer's, or unknown (-1, to be read again) when the service accepted or
 * refused what it should not have, since it then knows something about the sender that the load
 * does not. A transfer refused with MEMPOOL_FULL, or whose fate was resolved as never accepted,
 * cannot show whether the service would have refused it as it should: an invalid one is counted as
 * unchecked, not as matched.
 */
final class LoadTally {
  private final LoadRun.Settings settings;
  private final LoadRecord record;
  private final PrintStream out;

  private final ConcurrentLinkedQueue<LoadPacer.Sent> accepted = new ConcurrentLinkedQueue<>();

  private final AtomicLong submitted = new AtomicLong();
  private final AtomicLong acceptedCount = new AtomicLong();
  private final AtomicLong unavailable = new AtomicLong();
  private final AtomicLong missed = new AtomicLong();
  private final AtomicLong paused = new AtomicLong();
  private final AtomicLong resolvedAccepted = new AtomicLong();
  private final AtomicLong resolvedNotAccepted = new AtomicLong();
  private final AtomicLong invalidUnchecked = new AtomicLong();
  private final AtomicLong mismatched = new AtomicLong();
  private final Map<RefusalReason, AtomicLong> refused = new EnumMap<>(RefusalReason.class);

  /** Set once the summary is printed: no progress line after it. Guarded by {@code this}. */
  private boolean summaryPrinted;

  private volatile String firstMismatch;
  private volatile AppchainClient.AnswerException fatal;

  /** The submission window's length once it ended ({@link #windowEnded}), else -1. */
  private long windowNanos = -1;

  /** Accepted transfers seen proven by the wait so far, of {@link #provenOf}; -1 before it. */
  private int provenSoFar = -1;

  private int provenOf;

  LoadTally(LoadRun.Settings settings, LoadRecord record, PrintStream out) {
    this.settings = settings;
    this.record = record;
    this.out = out;
    for (RefusalReason reason : RefusalReason.values()) {
      refused.put(reason, new AtomicLong());
    }
  }

  /** Counts a transfer about to be submitted; returns how many were, this one included. */
  long countSubmitted() {
    return submitted.incrementAndGet();
  }

  /** Counts a tick of the schedule that was dropped: too late, or no sender ready. */
  void countMissed() {
    missed.incrementAndGet();
  }

  /** Counts a tick of the schedule that fell while the service did not answer. */
  void countPaused() {
    paused.incrementAndGet();
  }

  /** Notes an answer outside the contract: the run stops submitting and fails with its message. */
  void fail(AppchainClient.AnswerException answer) {
    fatal = answer;
  }

  /** Whether an answer outside the contract came. */
  boolean failed() {
    return fatal != null;
  }

  /**
   * Counts and checks the service's answer to a submitted transfer.
   *
   * @return true when the service answered (accepted or refused), false when it was unavailable and
   *     the transfer's fate is unknown
   */
  boolean answered(LoadPacer.Sent sent, AppchainClient.Submission submission) {
    if (submission instanceof AppchainClient.Submission.Accepted ok) {
      if (!sent.tx.hash().equals(ok.hash())) {
        mismatch("accepted " + sent.tx.hash() + " under another hash " + ok.hash());
      }
      onAccepted(sent);
      return true;
    }
    if (submission instanceof AppchainClient.Submission.Refused no) {
      refused.get(no.reason()).incrementAndGet();
      if (no.reason() == RefusalReason.MEMPOOL_FULL) {
        if (sent.expected != null) {
          invalidUnchecked.incrementAndGet();
        }
      } else if (no.reason() != sent.expected) {
        mismatch(
            (sent.expected == null ? "valid transfer " : sent.expected + " transfer ")
                + sent.tx.hash()
                + " refused with "
                + no.reason()
                + ": "
                + no.message());
        // the service knows something about this sender that we do not
        sent.sender.nonce = -1;
      }
      return true;
    }
    unavailable.incrementAndGet();
    return false;
  }

  /**
   * Counts the fate of a transfer whose answer never came, as its status tells once the service
   * answers again: accepted (with its block, if in one) or not, in which case the sender's nonce is
   * to be read again.
   */
  void resolved(LoadPacer.Sent sent, AppchainClient.TxStatus status) {
    if (status.known()) {
      resolvedAccepted.incrementAndGet();
      sent.block = status.block();
      onAccepted(sent);
    } else {
      resolvedNotAccepted.incrementAndGet();
      if (sent.expected != null) {
        invalidUnchecked.incrementAndGet();
      }
      sent.sender.nonce = -1;
    }
  }

  /** The transfers accepted so far, in the order their acceptance was learnt. */
  List<LoadPacer.Sent> accepted() {
    return new ArrayList<>(accepted);
  }

  /**
   * Adds the tally's problems: the answer outside the contract first, the mismatched answers last.
   */
  void addProblems(List<String> problems) {
    if (fatal != null) {
      problems.add(0, fatal.getMessage());
    }
    if (mismatched.get() > 0) {
      problems.add(
          mismatched.get()
              + " answers were not what the transfer should get (first: "
              + firstMismatch
              + ")");
    }
  }

  /**
   * Prints the progress line; nothing once the summary is printed (a progress line after it, with
   * counts read before the last transfers were resolved, would contradict it).
   *
   * @param startNanos when the window opened (System.nanoTime)
   * @param serviceDown whether the service does not answer at the moment
   */
  synchronized void printProgress(long startNanos, boolean serviceDown) {
    printProgress(startNanos, System.nanoTime(), serviceDown);
  }

  /**
   * The submission window ended after {@code windowNanos}: the progress lines' {@code rate=} is
   * taken over the window from now on (it kept falling while {@code --wait-proven} waited), and
   * they say that the window is over.
   */
  synchronized void windowEnded(long windowNanos) {
    this.windowNanos = windowNanos;
  }

  /**
   * What {@code --wait-proven} has seen proven so far: {@code proven} of the {@code of} accepted
   * transfers; the progress lines of the wait say it (they were the same line again and again while
   * a service behind the load caught up).
   */
  synchronized void provenSoFar(int proven, int of) {
    this.provenSoFar = proven;
    this.provenOf = of;
  }

  /** As {@link #printProgress(long, boolean)}, at {@code nowNanos}. */
  synchronized void printProgress(long startNanos, long nowNanos, boolean serviceDown) {
    if (summaryPrinted) {
      return;
    }
    double elapsed = (nowNanos - startNanos) / 1e9;
    double sending = windowNanos < 0 ? elapsed : windowNanos / 1e9;
    out.println(
        "load: progress t="
            + Math.round(elapsed)
            + "s submitted="
            + submitted.get()
            + " accepted="
            + acceptedCount.get()
            + " "
            + refusals()
            + " unavailable="
            + unavailable.get()
            + " rate="
            + String.format(Locale.ROOT, "%.1f", submitted.get() / sending)
            + "/s"
            + (windowNanos < 0
                ? ""
                : String.format(
                    Locale.ROOT,
                    " (window over after %ds: waiting for answers and proofs%s)",
                    Math.round(sending),
                    provenSoFar < 0 ? "" : "; proven " + provenSoFar + "/" + provenOf))
            + (serviceDown ? " (service not answering)" : ""));
  }

  /**
   * Prints the summary: the answers, the rate, and the proving if it was waited for.
   *
   * @param windowNanos the submission window's length
   * @param proving what the wait for proofs saw, or null when there was none
   * @param startNanos when the window opened (System.nanoTime)
   */
  synchronized void printSummary(long windowNanos, LoadProofWait.Proving proving, long startNanos) {
    summaryPrinted = true;
    double window = windowNanos / 1e9;
    double achieved = submitted.get() / window;
    out.println(
        "load: submitted="
            + submitted.get()
            + " accepted="
            + acceptedCount.get()
            + " "
            + refusals()
            + " unavailable="
            + unavailable.get()
            + " unknown-resolved="
            + (resolvedAccepted.get() + resolvedNotAccepted.get())
            + " resolved-accepted="
            + resolvedAccepted.get()
            + " resolved-not-accepted="
            + resolvedNotAccepted.get()
            + " mismatched="
            + mismatched.get()
            + " invalid-unchecked="
            + invalidUnchecked.get());
    long ticks = submitted.get() + missed.get() + paused.get();
    out.println(
        "load: rate target="
            + format(settings.rate())
            + "/s achieved="
            + format(achieved)
            + "/s window="
            + format(window)
            + "s ticks="
            + ticks
            + " missed="
            + missed.get()
            + " paused="
            + paused.get()
            + (missed.get() > 0
                ? " (could not keep up: "
                    + missed.get()
                    + " ticks found every sender busy, its transfer in flight or being signed, or "
                    + LoadPacer.MAX_IN_FLIGHT
                    + " transfers waiting for their answer, or came over "
                    + LoadPacer.MAX_LAG.toMillis()
                    + " ms late)"
                : ""));
    if (proving != null) {
      List<Long> latencies = proving.latenciesMillis();
      double provingSeconds = (proving.lastProvenNanos() - startNanos) / 1e9;
      out.println(
          "load: proven="
              + proving.proven()
              + "/"
              + proving.waitedFor()
              + " lost="
              + proving.lost()
              + " latency-ms median="
              + percentile(latencies, 50)
              + " p90="
              + percentile(latencies, 90)
              + " max="
              + (latencies.isEmpty() ? "-" : latencies.get(latencies.size() - 1))
              + " proven-tps="
              + (proving.proven() == 0 || provingSeconds <= 0
                  ? "-"
                  : format(proving.proven() / provingSeconds)));
    }
  }

  /** A number with one decimal, as every line of the run writes it. */
  static String format(double value) {
    return String.format(Locale.ROOT, "%.1f", value);
  }

  /** A duration in seconds with one decimal and its unit: {@code 30.0 s}. */
  static String seconds(Duration duration) {
    return format(duration.toMillis() / 1000.0) + " s";
  }

  private void onAccepted(LoadPacer.Sent sent) {
    if (sent.expected != null) {
      mismatch(sent.expected + " transfer " + sent.tx.hash() + " was accepted");
      sent.sender.nonce = -1;
    } else {
      sent.sender.nonce = sent.tx.transfer().nonce() + 1;
    }
    acceptedCount.incrementAndGet();
    accepted.add(sent);
    record.append(sent);
  }

  private void mismatch(String what) {
    if (mismatched.getAndIncrement() == 0) {
      firstMismatch = what;
    }
  }

  private String refusals() {
    StringBuilder line = new StringBuilder();
    long total = 0;
    for (Map.Entry<RefusalReason, AtomicLong> entry : refused.entrySet()) {
      total += entry.getValue().get();
    }
    line.append("refused=").append(total);
    for (Map.Entry<RefusalReason, AtomicLong> entry : refused.entrySet()) {
      line.append(' ').append(entry.getKey().name()).append('=').append(entry.getValue().get());
    }
    return line.toString();
  }

  private static String percentile(List<Long> sorted, int percent) {
    if (sorted.isEmpty()) {
      return "-";
    }
    int index = (int) Math.ceil(percent / 100.0 * sorted.size()) - 1;
    return String.valueOf(sorted.get(Math.max(0, index)));
  }
}
