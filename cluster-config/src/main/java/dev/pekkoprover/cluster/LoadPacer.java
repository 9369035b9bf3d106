package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The submissions of a {@link LoadRun}: one transfer per tick of a fixed-rate schedule, each from a
 * ready sender, every n-th made invalid on purpose; and the transfers whose answer never came,
 * resolved by their status once the service answers again.
 *
 * <p>What a reader must not miss: a tick more than {@link #MAX_LAG} late, or that finds no sender
 * ready, is missed, and one that falls while the service does not answer is paused; neither is made
 * up later, so the rate never exceeds the target. A transfer whose answer never came (the service
 * died, timed out or said UNAVAILABLE) is not retried: it waits among the unknown until the poller
 * asks its status, and submissions pause until then.
 */
final class LoadPacer {
  /** Refusals of deliberately invalid transfers, in turn (as {@code Workload} makes them). */
  static final RefusalReason[] INVALID_KINDS = {
    RefusalReason.BAD_SIGNATURE, RefusalReason.BAD_NONCE, RefusalReason.OVERDRAFT
  };

  /**
   * A tick of the schedule more than this late is dropped (counted as missed) rather than sent in a
   * burst with the others: the rate stays the rate, and a pacer that cannot keep up says so.
   */
  static final Duration MAX_LAG = Duration.ofSeconds(1);

  /**
   * At most this many submissions wait for their answer; a tick that finds as many is missed. The
   * JDK's HTTP/1.1 client opens a connection per concurrent request: a stalled service would
   * otherwise get one per sender (some 180 with the default 200 accounts) at once, past its accept
   * backlog (Pekko HTTP's default is 100), and the connections dropped there would only add answers
   * of unknown fate. It also bounds the rate: at most 64 / the service's answer time per second
   * (320/s at 200 ms).
   */
  static final int MAX_IN_FLIGHT = 64;

  /** A submitted transfer and what it should get. */
  static final class Sent {
    final LoadSenders.Sender sender;
    final SignedTransfer tx;

    /** The refusal it should get, or null when it is valid. */
    final RefusalReason expected;

    final long submittedAtMillis;
    final long submittedAtNanos;

    /** The block it is in, or -1 while not known to be in one. */
    volatile long block = -1;

    Sent(LoadSenders.Sender sender, SignedTransfer tx, RefusalReason expected) {
      this.sender = sender;
      this.tx = tx;
      this.expected = expected;
      this.submittedAtMillis = System.currentTimeMillis();
      this.submittedAtNanos = System.nanoTime();
    }
  }

  private final LoadRun.Settings settings;
  private final AppchainClient client;
  private final LoadSenders senders;
  private final LoadTally tally;
  private final LoadProofWait proofs;

  /** Submitted transfers whose answer never came. */
  private final ConcurrentLinkedQueue<Sent> unknown = new ConcurrentLinkedQueue<>();

  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean serviceDown;

  LoadPacer(
      LoadRun.Settings settings,
      AppchainClient client,
      LoadSenders senders,
      LoadTally tally,
      LoadProofWait proofs) {
    this.settings = settings;
    this.client = client;
    this.senders = senders;
    this.tally = tally;
    this.proofs = proofs;
  }

  /** Whether the service stopped answering and has not answered again yet. */
  boolean serviceDown() {
    return serviceDown;
  }

  /**
   * Submits on the schedule until the window ends, or an answer outside the contract comes.
   *
   * @param startNanos when the window opens (System.nanoTime)
   * @return the window's length in nanoseconds (at least 1)
   */
  long pace(long startNanos) {
    double periodNanos = 1e9 / settings.rate();
    long end = startNanos + settings.duration().toNanos();
    long maxLag = MAX_LAG.toNanos();
    for (long tick = 0; !tally.failed(); ) {
      long due = startNanos + (long) (tick * periodNanos);
      if (due >= end) {
        break;
      }
      long now = System.nanoTime();
      if (due > now) {
        LockSupport.parkNanos(due - now);
        continue;
      }
      tick++;
      if (now - due > maxLag) {
        tally.countMissed();
        continue;
      }
      if (serviceDown) {
        tally.countPaused();
        continue;
      }
      if (inFlight.get() >= MAX_IN_FLIGHT) {
        tally.countMissed();
        continue;
      }
      LoadSenders.Sender sender = senders.takeReady();
      if (sender == null) {
        tally.countMissed();
        continue;
      }
      submit(sender);
    }
    return Math.max(1, Math.min(System.nanoTime(), end) - startNanos);
  }

  /** The poller's round, which must not die on an unexpected answer (it would not run again). */
  void pollRound() {
    try {
      poll();
    } catch (AppchainClient.AnswerException e) {
      tally.fail(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      tally.fail(new AppchainClient.AnswerException("load: the poller failed: " + e));
    }
  }

  /**
   * Waits for in-flight submissions and for unknown fates to be resolved, within bounds.
   *
   * @param problems gets a line when some transfers' fate stayed unknown
   */
  void finishSubmissions(List<String> problems) throws InterruptedException {
    long deadline =
        System.nanoTime()
            + AppchainClient.REQUEST_TIMEOUT.toNanos()
            + GuardedNode.HTTPS_CONNECT_TIMEOUT.toNanos();
    while (inFlight.get() > 0 && System.nanoTime() < deadline && !tally.failed()) {
      Thread.sleep(10);
    }
    deadline = System.nanoTime() + settings.resolveWait().toNanos();
    while ((!unknown.isEmpty() || serviceDown) && System.nanoTime() < deadline && !tally.failed()) {
      Thread.sleep(LoadRun.POLL_EVERY.toMillis() / 4);
    }
    if (!unknown.isEmpty() || inFlight.get() > 0) {
      problems.add(
          (unknown.size() + inFlight.get())
              + " transfers' fate stayed unknown: the service did not answer within "
              + LoadTally.seconds(settings.resolveWait()));
    }
  }

  private void submit(LoadSenders.Sender sender) {
    long n = tally.countSubmitted();
    RefusalReason expected = null;
    int every = settings.invalidEvery();
    if (every > 0 && n % every == 0) {
      expected = INVALID_KINDS[(int) ((n / every - 1) % INVALID_KINDS.length)];
    }
    Wallet wallet = sender.wallet;
    SignedTransfer next = sender.ahead.peekFirst();
    String to = next.transfer().to();
    long nonce = next.transfer().nonce();
    SignedTransfer tx;
    if (expected == null) {
      tx = next;
    } else {
      tx =
          switch (expected) {
            case BAD_SIGNATURE -> {
              char[] signature = next.signature().toCharArray();
              signature[0] = signature[0] == '0' ? '1' : '0';
              yield new SignedTransfer(next.transfer(), new String(signature));
            }
            // a gap: the service refuses it whatever is pending
            case BAD_NONCE -> wallet.transfer(to, 1, nonce + 1);
            // no balance reaches it, and the nonce is right, so only the balance can refuse it
            case OVERDRAFT -> wallet.transfer(to, Long.MAX_VALUE, nonce);
            default -> throw new IllegalStateException("no invalid transfer of kind " + expected);
          };
    }
    Sent sent = new Sent(sender, tx, expected);
    inFlight.incrementAndGet();
    client
        .submitAsync(tx)
        .whenComplete(
            (submission, failure) -> {
              try {
                if (failure != null) {
                  onFailure(failure);
                } else {
                  onAnswer(sent, submission);
                }
              } finally {
                inFlight.decrementAndGet();
              }
            });
  }

  private void onFailure(Throwable failure) {
    Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
    tally.fail(
        cause instanceof AppchainClient.AnswerException answer
            ? answer
            : new AppchainClient.AnswerException(String.valueOf(cause)));
  }

  private void onAnswer(Sent sent, AppchainClient.Submission submission) {
    if (tally.answered(sent, submission)) {
      senders.release(sent.sender);
    } else {
      serviceDown = true;
      unknown.add(sent);
    }
  }

  /**
   * Resolves transfers of unknown fate and reads nonces once the service answers; records the
   * proven height when waiting for proofs.
   */
  private void poll() throws InterruptedException {
    boolean needed = serviceDown || !unknown.isEmpty() || senders.waitingForNonce();
    if (!needed && settings.waitProven() == null) {
      return;
    }
    AppchainClient.ChainView chain;
    try {
      chain = client.chain();
    } catch (AppchainClient.UnavailableException e) {
      return;
    }
    proofs.noteProvenHeight(chain.provenHeight());
    if (!needed) {
      return;
    }
    try {
      for (Sent sent = unknown.peek(); sent != null; sent = unknown.peek()) {
        AppchainClient.TxStatus status = client.status(sent.tx.hash());
        unknown.poll();
        tally.resolved(sent, status);
        senders.release(sent.sender);
      }
      senders.readWaitingNonces();
      serviceDown = false;
    } catch (AppchainClient.UnavailableException e) {
      // still (or again) silent: the next round tries again
    }
  }
}
