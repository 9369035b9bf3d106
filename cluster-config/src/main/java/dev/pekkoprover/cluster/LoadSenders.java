package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;

/**
 * The senders of a {@link LoadRun} and their next transfers: which senders are ready (no transfer
 * in flight, nonce known, next transfer signed), which wait for their nonce to be read, and the
 * signing of transfers ahead of the pacer.
 *
 * <p>What a reader must not miss: a sender is held by one party at a time (the pacer, an answer's
 * callback, the poller, a signer) and only that party touches it; the ready list's lock, the queue
 * of senders waiting for their nonce and the signers' executor hand it over. A sender whose nonce
 * is unknown (-1) is never ready: it waits until {@link #readWaitingNonces} reads it.
 */
final class LoadSenders {
  /**
   * At most this many transfers are signed before the window opens (some 20 s of one core, 10 MB),
   * so that signing does not hold the rate back; the rest are signed during the run as senders come
   * free.
   */
  static final int SIGN_AHEAD_MAX = 20_000;

  /**
   * A sender: its wallet, the nonce its next transfer carries (-1: read it first) and its next
   * transfers, signed ahead off the pacer's thread for consecutive nonces from {@code nonce}.
   */
  static final class Sender {
    final Wallet wallet;
    final Random random;
    final ArrayDeque<SignedTransfer> ahead = new ArrayDeque<>();
    volatile long nonce = -1;

    Sender(Wallet wallet, Random random) {
      this.wallet = wallet;
      this.random = random;
    }
  }

  private final LoadRun.Settings settings;
  private final AppchainClient client;
  private final List<Wallet> wallets;
  private final List<Sender> senders = new ArrayList<>();
  private final PrintStream out;
  private final PrintStream err;
  private final Random random;

  /**
   * Signs transfers off the pacer's thread: the JDK's Ed25519 takes about a millisecond per
   * signature, too slow for the pacer at a thousand transfers a second.
   */
  private final ExecutorService signers;

  /** Senders with no transfer in flight and a known nonce; guarded by itself. */
  private final List<Sender> ready = new ArrayList<>();

  private final ConcurrentLinkedQueue<Sender> needNonce = new ConcurrentLinkedQueue<>();

  /**
   * @param wallets every wallet of the service's genesis (recipients are drawn among them)
   * @param funded the funded ones: the senders
   * @param seed seeds the choice of senders, recipients and amounts
   */
  LoadSenders(
      LoadRun.Settings settings,
      AppchainClient client,
      List<Wallet> wallets,
      List<Wallet> funded,
      long seed,
      PrintStream out,
      PrintStream err) {
    this.settings = settings;
    this.client = client;
    this.wallets = List.copyOf(wallets);
    for (Wallet wallet : funded) {
      senders.add(new Sender(wallet, new Random(seed * 31 + senders.size())));
    }
    this.out = out;
    this.err = err;
    this.random = new Random(seed);
    this.signers =
        Executors.newFixedThreadPool(
            Runtime.getRuntime().availableProcessors(),
            runnable -> {
              Thread thread = new Thread(runnable, "load-signer");
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * Reads at most this many senders' nonces at a time before the window opens. Each concurrent
   * request of the JDK's HTTP/1.1 client opens a connection of its own: one per sender at once
   * (some 180 with the default 200 accounts) overflowed the service's accept backlog (Pekko HTTP's
   * default is 100) on a busy machine, and the connections dropped timed out.
   */
  static final int NONCE_READS_AT_ONCE = 16;

  /**
   * Reads every sender's pending nonce and signs its first transfers (up to {@link #SIGN_AHEAD_MAX}
   * in all), then makes every sender ready; false (with a line on err) when the service answers
   * outside the contract, or reads stop coming for the start wait ({@link #startWait}).
   */
  boolean readNonces() throws InterruptedException {
    Duration wait = startWait(settings);
    long deadline = System.nanoTime() + wait.toNanos();
    for (int from = 0; from < senders.size(); from += NONCE_READS_AT_ONCE) {
      List<Sender> chunk =
          senders.subList(from, Math.min(senders.size(), from + NONCE_READS_AT_ONCE));
      while (true) {
        List<CompletableFuture<AppchainClient.AccountView>> reads = new ArrayList<>();
        for (Sender sender : chunk) {
          reads.add(sender.nonce >= 0 ? null : client.accountAsync(sender.wallet.address()));
        }
        String silent = null;
        for (int i = 0; i < chunk.size(); i++) {
          if (reads.get(i) == null) {
            continue;
          }
          try {
            chunk.get(i).nonce = reads.get(i).get().pendingNonce();
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof AppchainClient.UnavailableException)) {
              err.println("load: " + e.getCause().getMessage());
              return false;
            }
            silent = e.getCause().getMessage();
          }
        }
        if (silent == null) {
          deadline = System.nanoTime() + wait.toNanos(); // the service answers: a fresh wait
          break;
        }
        if (System.nanoTime() >= deadline) {
          err.println(
              "load: "
                  + silent
                  + " (the senders' nonces unread after "
                  + LoadTally.seconds(wait)
                  + " of trying: is the service overloaded or restarting?)");
          return false;
        }
        Thread.sleep(LoadRun.POLL_EVERY.toMillis());
      }
    }
    List<Future<?>> signed = new ArrayList<>();
    long expected = (long) Math.ceil(settings.rate() * settings.duration().toMillis() / 1000.0);
    int perSender =
        (int) Math.max(1, Math.min(expected, SIGN_AHEAD_MAX) / Math.max(1, senders.size()) + 1);
    long signStart = System.nanoTime();
    for (Sender sender : senders) {
      signed.add(signers.submit(() -> signAhead(sender, perSender)));
    }
    for (Future<?> done : signed) {
      try {
        done.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("signing failed", e.getCause());
      }
    }
    ready.addAll(senders);
    out.println(
        "load: signed "
            + (long) perSender * senders.size()
            + " transfers of "
            + senders.size()
            + " senders ahead in "
            + LoadTally.format((System.nanoTime() - signStart) / 1e9)
            + "s");
    return true;
  }

  /** A ready sender drawn at random, now held by the caller; null when none is ready. */
  Sender takeReady() {
    synchronized (ready) {
      if (ready.isEmpty()) {
        return null;
      }
      int index = random.nextInt(ready.size());
      Sender sender = ready.get(index);
      ready.set(index, ready.get(ready.size() - 1));
      ready.remove(ready.size() - 1);
      return sender;
    }
  }

  /**
   * Back among the ready senders, once its next transfer is signed for its nonce; or first to have
   * its nonce read.
   */
  void release(Sender sender) {
    if (sender.nonce < 0) {
      needNonce.add(sender);
      return;
    }
    ArrayDeque<SignedTransfer> ahead = sender.ahead;
    while (!ahead.isEmpty() && ahead.peekFirst().transfer().nonce() < sender.nonce) {
      ahead.removeFirst(); // accepted
    }
    // after a refusal or a full mempool the nonce is unchanged: the same transfer goes again
    if (!ahead.isEmpty() && ahead.peekFirst().transfer().nonce() == sender.nonce) {
      ready(sender);
      return;
    }
    ahead.clear(); // signed for nonces the service does not expect
    try {
      signers.execute(
          () -> {
            signAhead(sender, 1);
            ready(sender);
          });
    } catch (RejectedExecutionException e) {
      // the run is over
    }
  }

  /**
   * How long {@code load} waits at its start for a service that does not answer: the resolve wait,
   * but never {@code --wait-proven}'s longer one, which is for proofs, not for a silent service.
   */
  static Duration startWait(LoadRun.Settings settings) {
    Duration resolve = settings.resolveWait();
    return resolve.compareTo(LoadCommand.RESOLVE_WAIT) < 0 ? resolve : LoadCommand.RESOLVE_WAIT;
  }

  /** Whether some sender waits for its nonce to be read. */
  boolean waitingForNonce() {
    return !needNonce.isEmpty();
  }

  /**
   * Reads the nonce of every sender waiting for it and releases it.
   *
   * @throws AppchainClient.UnavailableException when the service is silent (the senders not read
   *     yet keep waiting)
   */
  void readWaitingNonces() throws AppchainClient.UnavailableException, InterruptedException {
    for (Sender sender = needNonce.peek(); sender != null; sender = needNonce.peek()) {
      sender.nonce = client.account(sender.wallet.address()).pendingNonce();
      needNonce.poll();
      release(sender);
    }
  }

  /** Stops the signers: a sender released after is not signed for any more. */
  void stop() {
    signers.shutdownNow();
  }

  private void ready(Sender sender) {
    synchronized (ready) {
      ready.add(sender);
    }
  }

  /**
   * Signs {@code count} valid transfers of 1 to 1000 to random wallets, for the sender's nonce and
   * the ones after.
   */
  private void signAhead(Sender sender, int count) {
    for (int i = 0; i < count; i++) {
      String to = wallets.get(sender.random.nextInt(wallets.size())).address();
      sender.ahead.addLast(
          sender.wallet.transfer(to, 1 + sender.random.nextInt(1000), sender.nonce + i));
    }
  }
}
