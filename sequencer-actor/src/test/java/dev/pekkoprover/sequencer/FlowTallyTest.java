package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

/**
 * The counters that flows and the registration loop increment exist at zero from the sequencer's
 * start: Prometheus's {@code increase()} does not see the first increment of a series that appears
 * at 1 (a trial's scrape had no {@code prover_flow_results_dropped_total}).
 */
class FlowTallyTest {
  @Test
  void theDroppedResultsAndRegistrationCountersExistAtZeroFromTheStart() {
    ActorTestKit kit = ActorTestKit.create("flow-tally");
    try {
      ProverMetrics metrics = ProverMetrics.get(kit.system());
      new FlowTally(metrics);
      MeterRegistry registry = metrics.registry();
      for (String reason : FlowRunner.DROPPED_REASONS) {
        Counter dropped =
            registry.find("prover.flow.results.dropped").tag("reason", reason).counter();
        assertNotNull(dropped, reason);
        assertEquals(0.0, dropped.count(), reason);
      }
      Counter registrations = registry.find("prover.worker.registrations").counter();
      assertNotNull(registrations);
      assertEquals(0.0, registrations.count());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
