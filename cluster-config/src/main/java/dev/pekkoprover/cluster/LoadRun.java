package dev.pekkoprover.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

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
 */
final class LoadRun {
  /** Refusals of deliberately invalid transfers, in turn (as {@code Workload} makes them). */
  static final RefusalReason[] INVALID_KINDS = {
    RefusalReason.BAD_SIGNATURE, RefusalReason.BAD_NONCE, RefusalReason.OVERDRAFT
  };

  /** How often the progress line is printed. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * How often a service that stopped answering is asked again, and the proven height polled: a
   * restart is noticed within this, and proving latencies are measured to this resolution.
   */
  static final Duration POLL_EVERY = Duration.ofMillis(200);

  /**
   * A tick of the schedule more than this late is dropped (counted as missed) rather than sent in a
   * burst with the others: the rate stays the rate, and a pacer that cannot keep up says so.
   */
  static final Duration MAX_LAG = Duration.ofSeconds(1);

  /**
   * At most this many transfers are signed before the window opens (some 20 s of one core, 10 MB),
   * so that signing does not hold the rate back; the rest are signed during the run as senders come
   * free.
   */
  static final int SIGN_AHEAD_MAX = 20_000;

  /** Status requests in flight at once while checking every accepted transfer at the end. */
  private static final int STATUS_BATCH = 64;

  private static final ObjectMapper JSON = new ObjectMapper();

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
   *     transfers of unknown fate are resolved
   */
  record Settings(
      double rate,
      Duration duration,
      int invalidEvery,
      Path record,
      Duration waitProven,
      Duration resolveWait) {}

  /**
   * A sender: its wallet, the nonce its next transfer carries (-1: read it first) and its next
   * transfers, signed ahead off the pacer's thread for consecutive nonces from {@code nonce}. Only
   * the one holding the sender (the pacer, an answer's callback, the poller, a signer) touches it:
   * the ready list's lock and the executors hand it over.
   */
  private static final class Sender {
    final Wallet wallet;
    final Random random;
    final ArrayDeque<SignedTransfer> ahead = new ArrayDeque<>();
    volatile long nonce = -1;

    Sender(Wallet wallet, Random random) {
      this.wallet = wallet;
      this.random = random;
    }
  }

  /** A submitted transfer and what it should get. */
  private static final class Sent {
    final Sender sender;
    final SignedTransfer tx;
    final RefusalReason expected;
    final long submittedAtMillis;
    final long submittedAtNanos;
    volatile long block = -1;

    Sent(Sender sender, SignedTransfer tx, RefusalReason expected) {
      this.sender = sender;
      this.tx = tx;
      this.expected = expected;
      this.submittedAtMillis = System.currentTimeMillis();
      this.submittedAtNanos = System.nanoTime();
    }
  }

  private final Settings settings;
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

  private final ConcurrentLinkedQueue<Sent> unknown = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Sender> needNonce = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Sent> accepted = new ConcurrentLinkedQueue<>();

  /** Proven height -> when it was first seen (System.nanoTime). */
  private final ConcurrentSkipListMap<Long, Long> provenSeen = new ConcurrentSkipListMap<>();

  private final AtomicLong submitted = new AtomicLong();
  private final AtomicLong acceptedCount = new AtomicLong();
  private final AtomicLong unavailable = new AtomicLong();
  private final AtomicLong missed = new AtomicLong();
  private final AtomicLong paused = new AtomicLong();
  private final AtomicLong resolvedAccepted = new AtomicLong();
  private final AtomicLong resolvedNotAccepted = new AtomicLong();
  private final AtomicLong invalidUnchecked = new AtomicLong();
  private final AtomicLong mismatched = new AtomicLong();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<RefusalReason, AtomicLong> refused = new EnumMap<>(RefusalReason.class);

  private volatile String firstMismatch;
  private volatile AppchainClient.AnswerException fatal;
  private volatile boolean serviceDown;
  private volatile long latestProvenHeight = -1;
  private BufferedWriter recordWriter;
  private long startNanos;

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
    for (RefusalReason reason : RefusalReason.values()) {
      refused.put(reason, new AtomicLong());
    }
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
      if (!readNonces()) {
        return 1;
      }
      if (settings.record() != null) {
        try {
          recordWriter =
              Files.newBufferedWriter(
                  settings.record(),
                  StandardCharsets.UTF_8,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.APPEND,
                  StandardOpenOption.WRITE);
        } catch (IOException e) {
          err.println("load: cannot write the record " + settings.record() + ": " + e);
          return 1;
        }
      }
      startNanos = System.nanoTime();
      scheduler.scheduleAtFixedRate(
          this::printProgress,
          PROGRESS_EVERY.toMillis(),
          PROGRESS_EVERY.toMillis(),
          TimeUnit.MILLISECONDS);
      scheduler.scheduleWithFixedDelay(
          this::guarded, POLL_EVERY.toMillis(), POLL_EVERY.toMillis(), TimeUnit.MILLISECONDS);
      long windowNanos = pace();
      List<String> problems = new ArrayList<>();
      finishSubmissions(problems);
      Proving proving =
          settings.waitProven() == null || fatal != null ? null : waitProven(problems);
      printSummary(windowNanos, proving);
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
      if (!problems.isEmpty()) {
        err.println("load: " + String.join("; ", problems));
        return 1;
      }
      return 0;
    } finally {
      scheduler.shutdownNow();
      signers.shutdownNow();
      scheduler.awaitTermination(5, TimeUnit.SECONDS);
      if (recordWriter != null) {
        try {
          recordWriter.close();
        } catch (IOException e) {
          err.println("load: cannot close the record " + settings.record() + ": " + e.getMessage());
        }
      }
    }
  }

  /** Reads every sender's pending nonce; false (with a line on err) when the service is silent. */
  private boolean readNonces() throws InterruptedException {
    List<CompletableFuture<AppchainClient.AccountView>> reads = new ArrayList<>();
    for (Sender sender : senders) {
      reads.add(client.accountAsync(sender.wallet.address()));
    }
    List<Future<?>> signed = new ArrayList<>();
    long expected = (long) Math.ceil(settings.rate() * settings.duration().toMillis() / 1000.0);
    int perSender =
        (int) Math.max(1, Math.min(expected, SIGN_AHEAD_MAX) / Math.max(1, senders.size()) + 1);
    long signStart = System.nanoTime();
    for (int i = 0; i < senders.size(); i++) {
      Sender sender = senders.get(i);
      try {
        sender.nonce = reads.get(i).get().pendingNonce();
      } catch (ExecutionException e) {
        err.println("load: " + e.getCause().getMessage());
        return false;
      }
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
            + format((System.nanoTime() - signStart) / 1e9)
            + "s");
    return true;
  }

  /** Submits on the schedule until the window ends; returns the window's length in nanoseconds. */
  private long pace() {
    double periodNanos = 1e9 / settings.rate();
    long end = startNanos + settings.duration().toNanos();
    long maxLag = MAX_LAG.toNanos();
    for (long tick = 0; fatal == null; ) {
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
        missed.incrementAndGet();
        continue;
      }
      if (serviceDown) {
        paused.incrementAndGet();
        continue;
      }
      Sender sender = takeReady();
      if (sender == null) {
        missed.incrementAndGet();
        continue;
      }
      submit(sender);
    }
    return Math.max(1, Math.min(System.nanoTime(), end) - startNanos);
  }

  private Sender takeReady() {
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
  private void release(Sender sender) {
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

  private void submit(Sender sender) {
    long n = submitted.incrementAndGet();
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
    fatal =
        cause instanceof AppchainClient.AnswerException answer
            ? answer
            : new AppchainClient.AnswerException(String.valueOf(cause));
  }

  private void onAnswer(Sent sent, AppchainClient.Submission submission) {
    if (submission instanceof AppchainClient.Submission.Accepted ok) {
      if (!sent.tx.hash().equals(ok.hash())) {
        mismatch("accepted " + sent.tx.hash() + " under another hash " + ok.hash());
      }
      onAccepted(sent);
      release(sent.sender);
    } else if (submission instanceof AppchainClient.Submission.Refused no) {
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
      release(sent.sender);
    } else {
      unavailable.incrementAndGet();
      serviceDown = true;
      unknown.add(sent);
    }
  }

  private void onAccepted(Sent sent) {
    if (sent.expected != null) {
      mismatch(sent.expected + " transfer " + sent.tx.hash() + " was accepted");
      sent.sender.nonce = -1;
    } else {
      sent.sender.nonce = sent.tx.transfer().nonce() + 1;
    }
    acceptedCount.incrementAndGet();
    accepted.add(sent);
    record(sent);
  }

  private void mismatch(String what) {
    if (mismatched.getAndIncrement() == 0) {
      firstMismatch = what;
    }
  }

  private synchronized void record(Sent sent) {
    if (recordWriter == null) {
      return;
    }
    ObjectNode line = JSON.createObjectNode();
    line.put("hash", sent.tx.hash());
    line.put("from", sent.tx.transfer().from());
    line.put("to", sent.tx.transfer().to());
    line.put("amount", sent.tx.transfer().amount());
    line.put("nonce", sent.tx.transfer().nonce());
    line.put("signature", sent.tx.signature());
    line.put("submittedAtMillis", sent.submittedAtMillis);
    try {
      recordWriter.write(line.toString());
      recordWriter.newLine();
      recordWriter.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to the record " + settings.record(), e);
    }
  }

  /** The poller's round, which must not die on an unexpected answer (it would not run again). */
  private void guarded() {
    try {
      poll();
    } catch (AppchainClient.AnswerException e) {
      fatal = e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      fatal = new AppchainClient.AnswerException("load: the poller failed: " + e);
    }
  }

  /**
   * Resolves transfers of unknown fate and reads nonces once the service answers; records the
   * proven height when waiting for proofs.
   */
  private void poll() throws InterruptedException {
    boolean needed = serviceDown || !unknown.isEmpty() || !needNonce.isEmpty();
    if (!needed && settings.waitProven() == null) {
      return;
    }
    AppchainClient.ChainView chain;
    try {
      chain = client.chain();
    } catch (AppchainClient.UnavailableException e) {
      return;
    }
    noteProvenHeight(chain.provenHeight());
    if (!needed) {
      return;
    }
    try {
      for (Sent sent = unknown.peek(); sent != null; sent = unknown.peek()) {
        AppchainClient.TxStatus status = client.status(sent.tx.hash());
        unknown.poll();
        if (status.known()) {
          resolvedAccepted.incrementAndGet();
          sent.block = status.block();
          onAccepted(sent);
          release(sent.sender);
        } else {
          resolvedNotAccepted.incrementAndGet();
          if (sent.expected != null) {
            invalidUnchecked.incrementAndGet();
          }
          sent.sender.nonce = -1;
          needNonce.add(sent.sender);
        }
      }
      for (Sender sender = needNonce.peek(); sender != null; sender = needNonce.peek()) {
        sender.nonce = client.account(sender.wallet.address()).pendingNonce();
        needNonce.poll();
        release(sender);
      }
      serviceDown = false;
    } catch (AppchainClient.UnavailableException e) {
      // still (or again) silent: the next round tries again
    }
  }

  private void noteProvenHeight(long provenHeight) {
    latestProvenHeight = Math.max(latestProvenHeight, provenHeight);
    provenSeen.putIfAbsent(provenHeight, System.nanoTime());
  }

  /** Waits for in-flight submissions and for unknown fates to be resolved, within bounds. */
  private void finishSubmissions(List<String> problems) throws InterruptedException {
    long deadline =
        System.nanoTime()
            + AppchainClient.REQUEST_TIMEOUT.toNanos()
            + GuardedNode.HTTPS_CONNECT_TIMEOUT.toNanos();
    while (inFlight.get() > 0 && System.nanoTime() < deadline && fatal == null) {
      Thread.sleep(10);
    }
    deadline = System.nanoTime() + settings.resolveWait().toNanos();
    while ((!unknown.isEmpty() || serviceDown) && System.nanoTime() < deadline && fatal == null) {
      Thread.sleep(POLL_EVERY.toMillis() / 4);
    }
    if (!unknown.isEmpty() || inFlight.get() > 0) {
      problems.add(
          (unknown.size() + inFlight.get())
              + " transfers' fate stayed unknown: the service did not answer within "
              + seconds(settings.resolveWait()));
    }
  }

  /** What the wait for proofs saw. */
  private record Proving(
      int proven, int waitedFor, int lost, List<Long> latenciesMillis, long lastProvenNanos) {}

  /**
   * Asks every accepted transfer's status until it is in a block, and the chain's proven height
   * until it covers every such block, within {@code --wait-proven}.
   */
  private Proving waitProven(List<String> problems) throws InterruptedException {
    List<Sent> all = new ArrayList<>(accepted);
    long deadline = System.nanoTime() + settings.waitProven().toNanos();
    List<Sent> lost = new ArrayList<>();
    java.util.Set<Sent> lostSet =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    while (true) {
      List<Sent> unplaced = new ArrayList<>();
      for (Sent sent : all) {
        if (sent.block < 0 && !lostSet.contains(sent)) {
          unplaced.add(sent);
        }
      }
      boolean answered = true;
      try {
        for (int from = 0; from < unplaced.size(); from += STATUS_BATCH) {
          List<Sent> batch = unplaced.subList(from, Math.min(unplaced.size(), from + STATUS_BATCH));
          List<CompletableFuture<AppchainClient.TxStatus>> asks = new ArrayList<>();
          for (Sent sent : batch) {
            asks.add(client.statusAsync(sent.tx.hash()));
          }
          for (int i = 0; i < batch.size(); i++) {
            AppchainClient.TxStatus status = asks.get(i).get();
            if (!status.known()) {
              lost.add(batch.get(i));
              lostSet.add(batch.get(i));
            } else if (status.block() >= 0) {
              batch.get(i).block = status.block();
            }
          }
        }
        noteProvenHeight(client.chain().provenHeight());
      } catch (ExecutionException e) {
        if (e.getCause() instanceof AppchainClient.AnswerException answer) {
          fatal = answer;
          return null;
        }
        answered = false;
      } catch (AppchainClient.UnavailableException e) {
        answered = false;
      }
      int proven = 0;
      for (Sent sent : all) {
        if (sent.block >= 0 && sent.block < latestProvenHeight) {
          proven++;
        }
      }
      if (answered && proven + lost.size() == all.size()) {
        break;
      }
      if (System.nanoTime() >= deadline) {
        break;
      }
      Thread.sleep(POLL_EVERY.toMillis());
    }
    List<Long> latencies = new ArrayList<>();
    long lastProven = startNanos;
    int proven = 0;
    for (Sent sent : all) {
      if (sent.block < 0 || sent.block >= latestProvenHeight) {
        continue;
      }
      proven++;
      Map.Entry<Long, Long> seen = provenSeen.ceilingEntry(sent.block + 1);
      long at = seen == null ? System.nanoTime() : seen.getValue();
      latencies.add(Math.max(0, (at - sent.submittedAtNanos) / 1_000_000));
      lastProven = Math.max(lastProven, at);
    }
    latencies.sort(null);
    if (!lost.isEmpty()) {
      problems.add(
          lost.size()
              + " accepted transfers are unknown to the service (first: "
              + lost.get(0).tx.hash()
              + ")");
    }
    int notProven = all.size() - proven - lost.size();
    if (notProven > 0) {
      problems.add(
          notProven
              + " of "
              + all.size()
              + " accepted transfers not proven within --wait-proven "
              + seconds(settings.waitProven())
              + " (proven height "
              + latestProvenHeight
              + ")");
    }
    return new Proving(proven, all.size(), lost.size(), latencies, lastProven);
  }

  private void printProgress() {
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
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
            + String.format(java.util.Locale.ROOT, "%.1f", submitted.get() / elapsed)
            + "/s"
            + (serviceDown ? " (service not answering)" : ""));
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

  private void printSummary(long windowNanos, Proving proving) {
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
                    + " ticks found every sender busy, its transfer in flight or being signed, or came over "
                    + MAX_LAG.toMillis()
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

  private static String percentile(List<Long> sorted, int percent) {
    if (sorted.isEmpty()) {
      return "-";
    }
    int index = (int) Math.ceil(percent / 100.0 * sorted.size()) - 1;
    return String.valueOf(sorted.get(Math.max(0, index)));
  }

  private static String format(double value) {
    return String.format(java.util.Locale.ROOT, "%.1f", value);
  }

  private static String seconds(Duration duration) {
    return format(duration.toMillis() / 1000.0) + " s";
  }
}
