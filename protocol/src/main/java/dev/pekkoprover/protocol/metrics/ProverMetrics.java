package dev.pekkoprover.protocol.metrics;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The metrics of one actor system: a Micrometer registry that the node's {@code /metrics} endpoint renders as
 * Prometheus text. Every part registers its meters here where its values are kept (a queue entity its type's
 * counters, a worker node its workers, the sequencer its flows), so a scrape of every node adds up to the fleet
 * without counting anything twice.
 *
 * <p>Not to miss: meters read state that an actor owns. They must read it from something the actor publishes safely
 * (a volatile snapshot, an atomic), never from the actor's plain fields, and the actor must {@link #remove} them when
 * it stops: Micrometer hands back an existing meter of the same name and tags, which would otherwise keep reading
 * the stopped actor's state. With {@code prover.metrics.enabled = off} every meter is a no-op and nothing is
 * exported.
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
  private final Duration[] timeBuckets;

  private ProverMetrics(ActorSystem<?> system) {
    Config config = system.settings().config().getConfig("prover.metrics");
    this.refreshInterval = config.getDuration("refresh-interval");
    List<Duration> buckets = config.getDurationList("time-buckets");
    this.timeBuckets = buckets.toArray(new Duration[0]);
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
      registry = new CompositeMeterRegistry(); // with no registry inside, every meter it makes is a no-op
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

  /** How often actors publish the values their gauges and counters read ({@code prover.metrics.refresh-interval}). */
  public Duration refreshInterval() {
    return refreshInterval;
  }

  /**
   * A timer of task times (wait, run) with the configured histogram buckets ({@code prover.metrics.time-buckets}):
   * a fixed, short list rather than Micrometer's percentile histogram of about 70 buckets, so a record costs a
   * binary search over a dozen bounds and a scrape stays small per task type.
   */
  public Timer taskTimer(String name, String description, Tags tags) {
    return Timer.builder(name)
        .description(description)
        .tags(tags)
        .serviceLevelObjectives(timeBuckets)
        .register(registry);
  }

  /** Removes meters an actor registered, when it stops. */
  public void remove(Collection<? extends Meter> meters) {
    for (Meter meter : new ArrayList<>(meters)) {
      registry.remove(meter);
    }
  }
}
