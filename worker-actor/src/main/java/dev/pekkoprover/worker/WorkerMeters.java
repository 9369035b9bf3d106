package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The meters of the workers of one node (actor system), exported where the workers live: {@code
 * prover_workers{state}} (this node's workers by state; the sum over every node's scrape is the
 * fleet), {@code prover_worker_restarts_total} and {@code prover_results_refused_total{reason}}
 * (results that could not travel to their queue on another node). Workers update it on state
 * changes, restarts and refusals: never per task.
 */
final class WorkerMeters implements Extension {

  static final class Id extends ExtensionId<WorkerMeters> {
    static final Id INSTANCE = new Id();

    @Override
    public WorkerMeters createExtension(ActorSystem<?> system) {
      return new WorkerMeters(ProverMetrics.get(system).registry());
    }
  }

  static WorkerMeters get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Each live local worker's state, by worker id. */
  private final Map<String, WorkerState> states = new ConcurrentHashMap<>();

  /** Reasons of {@code prover_results_refused_total}: over the result size limit. */
  static final String TOO_LARGE = "too_large";

  /**
   * Reasons of {@code prover_results_refused_total}: it would not deserialise on the queue's node.
   */
  static final String UNREADABLE = "unreadable";

  /** Reasons of {@code prover_results_refused_total}: null, or not a type that may travel. */
  static final String NOT_SERIALIZABLE = "not_serializable";

  private final Counter restarts;
  private final Map<String, Counter> refused = new HashMap<>();

  private WorkerMeters(MeterRegistry registry) {
    for (WorkerState state : WorkerState.values()) {
      Gauge.builder(
              "prover.workers", states, s -> s.values().stream().filter(state::equals).count())
          .description("Workers of this node by life-cycle state")
          .tag("state", state.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
    this.restarts =
        Counter.builder("prover.worker.restarts")
            .description(
                "Restarts of this node's workers by their supervisor (a crash, a hung compute, a failed prepare)")
            .register(registry);
    // every reason from the start, at zero: a series that first appears at 1 shows no increase()
    // in Prometheus, so an alert on the rate would miss the first refusals
    for (String reason : List.of(TOO_LARGE, UNREADABLE, NOT_SERIALIZABLE)) {
      refused.put(
          reason,
          Counter.builder("prover.results.refused")
              .description(
                  "Task results refused before they left for their queue, by why; their tasks fail"
                      + " for good")
              .tag("reason", reason)
              .register(registry));
    }
  }

  void entered(String workerId, WorkerState state) {
    states.put(workerId, state);
  }

  /** The worker stopped, or is about to restart (its next incarnation enters Unprepared). */
  void gone(String workerId) {
    states.remove(workerId);
  }

  void restarted() {
    restarts.increment();
  }

  /**
   * A result was refused before it left for another node.
   *
   * @param reason {@link #TOO_LARGE}, {@link #UNREADABLE} or {@link #NOT_SERIALIZABLE}
   */
  void resultRefused(String reason) {
    refused.get(reason).increment();
  }
}
