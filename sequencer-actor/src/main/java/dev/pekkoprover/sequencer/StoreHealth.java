package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Whether a {@link ResultWriter}'s store confirms its writes, where an operator sees it: the meters
 * {@code prover_store_oldest_unconfirmed_write_seconds}, {@code prover_store_waiting_results} and
 * {@code prover_store_write_failures_total} (label {@code store}: the store's persistence id), and
 * a line for the status API's {@code problems} while writes are not confirmed (the sequencer puts
 * it in its flows' answer). Without these a database outage showed only in the log: the probes, the
 * status and the metrics all looked healthy while no result was acknowledged.
 *
 * <p>Written by the writer's actor, read from any thread (the gauges, the sequencer's actor).
 * {@link #close} removes the meters, which would otherwise keep the last value after the writer
 * stopped.
 */
final class StoreHealth {
  private final String storeName;
  private final String database;

  /** {@link System#nanoTime} of the first send of the write in flight; 0 when none is. */
  private final AtomicLong writeSince = new AtomicLong();

  /** {@link System#nanoTime} of the first send of a write that failed and is not confirmed yet. */
  private final AtomicLong failingSince = new AtomicLong();

  private final AtomicInteger waiting = new AtomicInteger();

  /** What the store's last journal failure said to do; null once a write is confirmed. */
  private final AtomicReference<String> storeRemedy = new AtomicReference<>();

  private final Counter failures;
  private final List<Meter> meters;
  private final MeterRegistry registry;

  StoreHealth(ProverMetrics metrics, String storeName, String database) {
    this.storeName = storeName;
    this.database = database;
    var registry = metrics.registry();
    Gauge oldest =
        Gauge.builder(
                "prover.store.oldest.unconfirmed.write", this, StoreHealth::unconfirmedSeconds)
            .baseUnit("seconds")
            .description(
                "How long the store's write in flight has waited for the journal's confirmation; "
                    + "0 when none is in flight. Above the write timeout (10 s) the database does "
                    + "not confirm writes: results wait, unacknowledged")
            .tag("store", storeName)
            .register(registry);
    Gauge waitingGauge =
        Gauge.builder("prover.store.waiting.results", waiting, AtomicInteger::get)
            .description("Results waiting for the store (in the write in flight or queued)")
            .tag("store", storeName)
            .register(registry);
    this.failures =
        Counter.builder("prover.store.write.failures")
            .description(
                "Store writes that timed out or failed and were sent again (the database down, "
                    + "the store restarting)")
            .tag("store", storeName)
            .register(registry);
    this.meters = List.of(oldest, waitingGauge, failures);
    this.registry = registry;
  }

  void writeSent(long nanos, int waitingNow) {
    writeSince.compareAndSet(0, nanos);
    waiting.set(waitingNow);
  }

  void writeConfirmed(int waitingNow) {
    writeSince.set(0);
    failingSince.set(0);
    storeRemedy.set(null);
    waiting.set(waitingNow);
  }

  void writeFailed(int waitingNow) {
    failures.increment();
    failingSince.compareAndSet(0, Math.max(1, writeSince.get()));
    waiting.set(waitingNow);
  }

  void queued(int waitingNow) {
    waiting.set(waitingNow);
  }

  /** The store's journal failed; {@code remedy} is what its ERROR line said to do. */
  void storeFailed(String remedy) {
    storeRemedy.set(remedy);
  }

  /**
   * What the writer's ERROR says to do: the store's last failure's remedy (a second writer's
   * refused key is not mended by checking the database), else {@code configured}.
   */
  String remedy(String configured) {
    String said = storeRemedy.get();
    return said == null ? configured : said;
  }

  /** Seconds the write in flight has waited; 0 when none is in flight. */
  double unconfirmedSeconds() {
    long since = writeSince.get();
    return since == 0 ? 0 : (System.nanoTime() - since) / 1e9;
  }

  /**
   * What the status API says while a write failed and is not confirmed yet; null while writes are
   * confirmed.
   */
  String problem() {
    long since = failingSince.get();
    if (since == 0) {
      return null;
    }
    return String.format(
        Locale.ROOT,
        "the sequencer's store %s has not confirmed a write for %d s (%s): %d result(s) "
            + "wait, unacknowledged; nothing is lost, they are written once it answers (the "
            + "sequencer's log says why)",
        storeName,
        (System.nanoTime() - since) / 1_000_000_000,
        database,
        waiting.get());
  }

  /** The writer stopped: its meters go, and it reports no problem of a write no one repeats. */
  void close() {
    meters.forEach(registry::remove);
    writeSince.set(0);
    failingSince.set(0);
    waiting.set(0);
    storeRemedy.set(null);
  }
}
