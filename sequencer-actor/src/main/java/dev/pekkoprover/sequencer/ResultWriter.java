package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The group-commit front of a {@link ResultStore}: at most one write is in flight; results that
 * arrive meanwhile are written together as the next one (up to {@code max-batch} results or {@code
 * max-batch-bytes}). So the store's throughput is its batch size over its write latency, not one
 * journal write per task, and a lone result is still written at once (no timer).
 *
 * <p>Each {@link Put} is acknowledged to its sender with {@link Stored} only after the journal
 * confirmed it. A write the store does not confirm within {@code write-timeout} (the database is
 * down, the store restarting with backoff) is sent again every {@code retry-interval} until it is;
 * the store skips what it holds already. Results keep arriving meanwhile and wait, unacknowledged.
 */
public final class ResultWriter {

  public interface Command {}

  /**
   * Store {@code result}; {@code replyTo} gets {@code token} in a {@link Stored} once it is in the
   * journal.
   */
  public record Put(StoredResult result, ActorRef<Stored> replyTo, long token)
      implements Command, CborSerializable {}

  /** These puts of the receiver are stored (one message per receiver and write). */
  public record Stored(List<Long> tokens) implements CborSerializable {}

  public record GetStats(ActorRef<Stats> replyTo) implements Command, CborSerializable {}

  /**
   * @param writes journal writes confirmed
   * @param results results in them
   * @param largestBatch the most results one write carried
   * @param meanWriteMicros mean time from sending a write to its confirmation
   * @param maxWriteMicros the longest such time
   * @param waiting results waiting now (in flight or queued), unacknowledged
   * @param failedWrites writes that timed out or failed and were sent again
   */
  public record Stats(
      long writes,
      long results,
      int largestBatch,
      long meanWriteMicros,
      long maxWriteMicros,
      int waiting,
      long failedWrites)
      implements CborSerializable {}

  private record WriteDone(long attempt, int stored)
      implements Command, NoSerializationVerificationNeeded {}

  /** Carries the ask's failure (a timeout, or the store's): local only. */
  private record WriteFailed(long attempt, Throwable cause)
      implements Command, NoSerializationVerificationNeeded {}

  private enum Retry implements Command, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * While writes keep failing, the ERROR line repeats this often, saying how long and how much
   * waits.
   */
  private static final Duration REPEAT_ERROR = Duration.ofSeconds(30);

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final ActorRef<ResultStore.Command> store;
  private final StoreSettings settings;
  private final StoreHealth health;
  private final String storeName;
  private final List<Put> queued = new ArrayList<>();
  private List<Put> inFlight;
  private long attempt;
  private long sentAt;
  private long failingSince;
  private long lastErrorAt;
  private long writes;
  private long results;
  private int largestBatch;
  private long totalWriteNanos;
  private long maxWriteNanos;
  private long failedWrites;

  /** A writer with meters of its own ({@link StoreHealth}), removed when it stops. */
  public static Behavior<Command> create(
      ActorRef<ResultStore.Command> store, String storeName, StoreSettings settings) {
    return Behaviors.setup(
        context ->
            create(
                store,
                storeName,
                settings,
                new StoreHealth(
                    ProverMetrics.get(context.getSystem()), storeName, settings.database())));
  }

  /**
   * A writer that tells {@code health} how its writes go (which it closes when it stops), for the
   * meters and for whoever reports the store's problems (the sequencer).
   */
  static Behavior<Command> create(
      ActorRef<ResultStore.Command> store,
      String storeName,
      StoreSettings settings,
      StoreHealth health) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              ResultWriter.class); // not a Pekko logger, which the node's logback keeps at WARN
          return Behaviors.withTimers(
              timers ->
                  new ResultWriter(context, timers, store, storeName, settings, health).running());
        });
  }

  private ResultWriter(
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ActorRef<ResultStore.Command> store,
      String storeName,
      StoreSettings settings,
      StoreHealth health) {
    this.context = context;
    this.timers = timers;
    this.store = store;
    this.storeName = storeName;
    this.settings = settings;
    this.health = health;
  }

  private Behavior<Command> running() {
    return Behaviors.receive(Command.class)
        .onMessage(Put.class, this::onPut)
        .onMessage(WriteDone.class, this::onWriteDone)
        .onMessage(WriteFailed.class, this::onWriteFailed)
        .onMessageEquals(Retry.INSTANCE, this::onRetry)
        .onMessage(GetStats.class, this::onGetStats)
        .onSignal(
            PostStop.class,
            stopped -> {
              health.close();
              saySomeAreLeftUnconfirmed();
              return Behaviors.same();
            })
        .build();
  }

  /**
   * A writer that stops (its node stopping, say) with results its database never confirmed: they
   * were not acknowledged, so nothing is wrong, but their work is computed again at the next start;
   * a trial's SIGTERM during an outage dropped 337 without a word. WARN when the writes were
   * failing (the outage's cost), INFO for the few a healthy store had in flight.
   */
  private void saySomeAreLeftUnconfirmed() {
    int left = waiting();
    if (left == 0) {
      return;
    }
    String line =
        "Result store {} stops with {} result(s) its database {} has not confirmed{}: they were not"
            + " acknowledged, and the tasks are computed again when the job runs next";
    String failing =
        failingSince == 0
            ? ""
            : " (its writes have failed for "
                + (System.nanoTime() - failingSince) / 1_000_000_000
                + " s)";
    if (failingSince == 0) {
      context.getLog().info(line, storeName, left, settings.database(), failing);
    } else {
      context.getLog().warn(line, storeName, left, settings.database(), failing);
    }
  }

  /** Results waiting now: in the write in flight or queued. */
  private int waiting() {
    return (inFlight == null ? 0 : inFlight.size()) + queued.size();
  }

  private Behavior<Command> onPut(Put put) {
    queued.add(put);
    if (inFlight == null) {
      writeNext();
    } else {
      health.queued(waiting());
    }
    return Behaviors.same();
  }

  /** Takes the queued puts, up to the batch bounds, and writes them. */
  private void writeNext() {
    int count = 0;
    long bytes = 0;
    while (count < queued.size() && count < settings.maxBatch()) {
      bytes += queued.get(count).result().weight();
      if (count > 0 && bytes > settings.maxBatchBytes()) {
        break;
      }
      count++;
    }
    List<Put> batch = new ArrayList<>(queued.subList(0, count));
    queued.subList(0, count).clear();
    inFlight = batch;
    send();
  }

  private void send() {
    long thisAttempt = ++attempt;
    sentAt = System.nanoTime();
    health.writeSent(sentAt, waiting());
    List<StoredResult> entries = new ArrayList<>(inFlight.size());
    inFlight.forEach(put -> entries.add(put.result()));
    context.ask(
        ResultStore.Written.class,
        store,
        settings.writeTimeout(),
        replyTo -> new ResultStore.Write(entries, replyTo),
        (written, failure) ->
            written != null
                ? new WriteDone(thisAttempt, written.stored())
                : new WriteFailed(thisAttempt, failure));
  }

  private Behavior<Command> onWriteDone(WriteDone done) {
    if (done.attempt() != attempt || inFlight == null) {
      return Behaviors.same();
    }
    long took = System.nanoTime() - sentAt;
    writes++;
    results += inFlight.size();
    largestBatch = Math.max(largestBatch, inFlight.size());
    totalWriteNanos += took;
    maxWriteNanos = Math.max(maxWriteNanos, took);
    if (failingSince != 0) {
      context
          .getLog()
          .info(
              "Result store {} confirms writes again after {} s; {} result(s) written, {} waiting",
              storeName,
              (System.nanoTime() - failingSince) / 1_000_000_000,
              inFlight.size(),
              queued.size());
      failingSince = 0;
      lastErrorAt = 0;
    }
    Map<ActorRef<Stored>, List<Long>> byReceiver = new LinkedHashMap<>();
    for (Put put : inFlight) {
      byReceiver.computeIfAbsent(put.replyTo(), r -> new ArrayList<>()).add(put.token());
    }
    inFlight = null;
    // The health first: a receiver that reads it on its Stored sees the write confirmed.
    health.writeConfirmed(queued.size());
    byReceiver.forEach((receiver, tokens) -> receiver.tell(new Stored(tokens)));
    if (!queued.isEmpty()) {
      writeNext();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onWriteFailed(WriteFailed failed) {
    if (failed.attempt() != attempt || inFlight == null) {
      return Behaviors.same();
    }
    failedWrites++;
    health.writeFailed(waiting());
    long now = System.nanoTime();
    if (failingSince == 0) {
      failingSince = sentAt;
    }
    if (lastErrorAt == 0 || now - lastErrorAt >= REPEAT_ERROR.toNanos()) {
      lastErrorAt = now;
      context
          .getLog()
          .error(
              "Result store {} has not confirmed a write for {} s ({}; database {}): {} result(s) wait and are not "
                  + "acknowledged. {}. Sending the write again every {}; nothing is lost meanwhile",
              storeName,
              (now - failingSince) / 1_000_000_000,
              ResultStore.describe(failed.cause()),
              settings.database(),
              inFlight.size() + queued.size(),
              health.remedy(settings.remedy()),
              ResultStore.text(settings.retryInterval()));
    }
    timers.startSingleTimer(Retry.INSTANCE, settings.retryInterval());
    return Behaviors.same();
  }

  private Behavior<Command> onRetry() {
    if (inFlight != null) {
      send();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onGetStats(GetStats request) {
    request
        .replyTo()
        .tell(
            new Stats(
                writes,
                results,
                largestBatch,
                writes == 0 ? 0 : totalWriteNanos / writes / 1000,
                maxWriteNanos / 1000,
                waiting(),
                failedWrites));
    return Behaviors.same();
  }
}
