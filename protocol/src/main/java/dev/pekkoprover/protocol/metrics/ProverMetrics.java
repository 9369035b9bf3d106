package dev.pekkoprover.protocol.metrics;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The metrics of one actor system: a Micrometer registry that the node's {@code /metrics} endpoint
 * renders as Prometheus text. Every part registers its meters here where its values are kept (a
 * queue entity its type's counters, a worker node its workers, the sequencer its flows), so a
 * scrape of every node adds up to the fleet without counting anything twice.
 *
 * <p>Not to miss: meters read state that an actor owns. They must read it from something the actor
 * publishes safely (a volatile snapshot, an atomic), never from the actor's plain fields, and the
 * actor must {@link #remove} them when it stops: Micrometer hands back an existing meter of the
 * same name and tags, which would otherwise keep reading the stopped actor's state. With {@code
 * prover.metrics.enabled = off} every meter is a no-op and nothing is exported.
 */
public final class ProverMetrics implements Extension {

  /** The extension's id: {@code ProverMetrics.get(system)}. */
  public static final class Id extends ExtensionId<ProverMetrics> {
    static final Id INSTANCE = new Id();

    private Id() {}

    @Override
    public ProverMetrics createExtension(ActorSystem<?> system) {
      return new ProverMetrics(system);
    }
  }

  public static ProverMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Tag of every meter about one task type. */
  public static final String TASK_TYPE = "task_type";

  private final MeterRegistry registry;
  private final PrometheusMeterRegistry prometheus;
  private final Duration refreshInterval;
  private final List<Duration> timeBuckets;

  /**
   * The histograms registered through {@link #histogram}, by metric name: one Prometheus collector
   * each.
   */
  private final Map<String, HistogramFamily> histograms = new ConcurrentHashMap<>();

  private ProverMetrics(ActorSystem<?> system) {
    Config config = system.settings().config().getConfig("prover.metrics");
    this.refreshInterval = config.getDuration("refresh-interval");
    this.timeBuckets = config.getDurationList("time-buckets").stream().sorted().toList();
    if (config.getBoolean("enabled")) {
      prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      registry = prometheus;
      if (config.getBoolean("jvm")) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        JvmGcMetrics gc = new JvmGcMetrics();
        gc.bindTo(registry);
        system.getWhenTerminated().thenRun(gc::close);
      }
    } else {
      prometheus = null;
      registry =
          new CompositeMeterRegistry(); // with no registry inside, every meter it makes is a no-op
    }
    system.getWhenTerminated().thenRun(registry::close);
  }

  /** Where to register meters. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Whether meters are exported ({@code prover.metrics.enabled}). */
  public boolean enabled() {
    return prometheus != null;
  }

  /** Every meter in the Prometheus text format (version 0.0.4); empty when metrics are off. */
  public String scrape() {
    return prometheus == null ? "" : prometheus.scrape();
  }

  /**
   * How often actors publish the values their gauges and counters read ({@code
   * prover.metrics.refresh-interval}).
   */
  public Duration refreshInterval() {
    return refreshInterval;
  }

  /**
   * A histogram of task times with the configured bucket bounds ({@code
   * prover.metrics.time-buckets}).
   */
  public TimeHistogram newTimeHistogram() {
    return new TimeHistogram(timeBuckets);
  }

  /**
   * Exports what {@code source} returns (the last {@link TimeHistogram.Snapshot} its owner
   * published, or null before the first; it must be safe to call from the scrape's thread) as one
   * series of the Prometheus histogram {@code name} (e.g. {@code prover_task_run_seconds}, rendered
   * with {@code _bucket}, {@code _count} and {@code _sum}), with these labels. Every source of one
   * name must use the same label names. Close the returned handle when the owner stops.
   */
  public AutoCloseable histogram(
      String name,
      String help,
      Map<String, String> labels,
      Supplier<TimeHistogram.Snapshot> source) {
    if (prometheus == null) {
      return () -> {};
    }
    HistogramFamily family =
        histograms.computeIfAbsent(
            name,
            n -> {
              HistogramFamily created = new HistogramFamily(n, help);
              prometheus.getPrometheusRegistry().register(created);
              return created;
            });
    HistogramSource entry = new HistogramSource(labelsOf(labels), source);
    family.sources.add(entry);
    return () -> family.sources.remove(entry);
  }

  private static Labels labelsOf(Map<String, String> labels) {
    List<String> pairs = new ArrayList<>();
    labels.forEach(
        (key, value) -> {
          pairs.add(key);
          pairs.add(value);
        });
    return Labels.of(pairs.toArray(new String[0]));
  }

  private record HistogramSource(Labels labels, Supplier<TimeHistogram.Snapshot> source) {}

  /** One histogram metric: a series per registered source, in seconds. */
  private final class HistogramFamily implements Collector {
    final String name;
    final String help;
    final List<HistogramSource> sources = new CopyOnWriteArrayList<>();

    HistogramFamily(String name, String help) {
      this.name = name;
      this.help = help;
    }

    @Override
    public MetricSnapshot collect() {
      double[] bounds = new double[timeBuckets.size() + 1];
      for (int i = 0; i < timeBuckets.size(); i++) {
        bounds[i] = timeBuckets.get(i).toNanos() / 1e9;
      }
      bounds[timeBuckets.size()] = Double.POSITIVE_INFINITY;
      HistogramSnapshot.Builder snapshot = HistogramSnapshot.builder().name(name).help(help);
      java.util.Set<Labels> seen = new java.util.HashSet<>();
      for (HistogramSource source : sources) {
        TimeHistogram.Snapshot data = source.source().get();
        if (data == null || data.counts().length != bounds.length || !seen.add(source.labels())) {
          continue; // nothing published yet; or a second source of the same series (two local
          // queues in one
          // test system), which would make the whole scrape fail
        }
        snapshot.dataPoint(
            HistogramSnapshot.HistogramDataPointSnapshot.builder()
                .labels(source.labels())
                .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, data.counts()))
                .sum(data.sumNanos() / 1e9)
                .build());
      }
      return snapshot.build();
    }

    @Override
    public String getPrometheusName() {
      return name;
    }
  }

  /** Removes meters an actor registered, when it stops. */
  public void remove(Collection<? extends Meter> meters) {
    for (Meter meter : new ArrayList<>(meters)) {
      registry.remove(meter);
    }
  }
}
