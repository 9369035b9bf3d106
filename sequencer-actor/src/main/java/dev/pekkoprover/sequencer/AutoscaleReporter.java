package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Exports the autoscaling signal: every {@code prover.autoscale.interval} it asks the queue for the
 * fleet view, runs {@link AutoscaleSignal} on it and sets, per worker class, {@code
 * prover_autoscale_workers_needed}, {@code prover_autoscale_outstanding_worker_seconds} and {@code
 * prover_autoscale_workers} (the class's workers now). A child of the sequencer, so there is
 * exactly one in a cluster (on the singleton's node) and the signal moves with it. The first values
 * come one interval after the sequencer started. A class once exported stays exported; its values
 * are always those of the latest computation (0 for a class it does not name). The same view feeds
 * {@link UnservedLog}: the log's line about tasks no worker in the fleet will run.
 */
final class AutoscaleReporter {
  private AutoscaleReporter() {}

  interface Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record WrappedFleet(FleetView view) implements Command {}

  static final String WORKER_CLASS = "worker_class";

  static Behavior<Command> create(ActorRef<QueueCommand> queue, AutoscaleSettings settings) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  // its lines under its own name: a functional behavior's default logger is
                  // Pekko's, which the launcher's logging keeps at WARN
                  context.setLoggerName(AutoscaleReporter.class);
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.interval());
                  ActorRef<FleetView> answers =
                      context.messageAdapter(FleetView.class, WrappedFleet::new);
                  AutoscaleSignal signal =
                      new AutoscaleSignal(settings, AutoscaleClasses.get(context.getSystem()));
                  ProverMetrics metrics = ProverMetrics.get(context.getSystem());
                  MeterRegistry registry = metrics.registry();
                  Map<String, AutoscaleSignal.Demand> latest = new ConcurrentHashMap<>();
                  Map<String, List<Meter>> meters = new HashMap<>();
                  UnservedLog unserved = new UnservedLog();
                  return Behaviors.receive(Command.class)
                      .onMessageEquals(
                          Tick.INSTANCE,
                          () -> {
                            queue.tell(new QueueCommand.GetFleet(answers));
                            return Behaviors.same();
                          })
                      .onMessage(
                          WrappedFleet.class,
                          wrapped -> {
                            for (String line : unserved.update(wrapped.view(), System.nanoTime())) {
                              context.getLog().info(line);
                            }
                            Set<String> named = new HashSet<>();
                            for (AutoscaleSignal.Demand demand :
                                signal.update(wrapped.view(), System.nanoTime())) {
                              String name = demand.workerClass();
                              named.add(name);
                              latest.put(name, demand);
                              meters.computeIfAbsent(name, n -> register(registry, latest, n));
                            }
                            // the gauges show this computation only: a class it left out reads 0,
                            // not what an earlier one said
                            latest.keySet().retainAll(named);
                            return Behaviors.same();
                          })
                      .onSignal(
                          PostStop.class,
                          stop -> {
                            meters.values().forEach(metrics::remove);
                            return Behaviors.same();
                          })
                      .build();
                }));
  }

  private static List<Meter> register(
      MeterRegistry registry, Map<String, AutoscaleSignal.Demand> latest, String workerClass) {
    List<Meter> meters = new ArrayList<>();
    meters.add(
        gauge(
            registry,
            latest,
            workerClass,
            "prover.autoscale.workers.needed",
            "Workers the class needs to clear its outstanding work within prover.autoscale.target",
            d -> d.workersNeeded()));
    meters.add(
        gauge(
            registry,
            latest,
            workerClass,
            "prover.autoscale.outstanding.worker.seconds",
            "Work queued and in flight for the class: (pending + in flight) x mean run time, over its task types",
            d -> d.outstandingWorkerSeconds()));
    meters.add(
        gauge(
            registry,
            latest,
            workerClass,
            "prover.autoscale.workers",
            "Workers of the class the queue knows now",
            d -> d.workers()));
    return meters;
  }

  private static Gauge gauge(
      MeterRegistry registry,
      Map<String, AutoscaleSignal.Demand> latest,
      String workerClass,
      String name,
      String description,
      ToDoubleFunction<AutoscaleSignal.Demand> value) {
    return Gauge.builder(
            name,
            latest,
            map -> {
              AutoscaleSignal.Demand demand = map.get(workerClass);
              return demand == null ? 0 : value.applyAsDouble(demand);
            })
        .description(description)
        .tag(WORKER_CLASS, workerClass)
        .register(registry);
  }
}
