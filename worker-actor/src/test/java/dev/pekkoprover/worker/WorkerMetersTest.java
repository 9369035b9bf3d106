package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerCommand.Dispatch;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Keys;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A worker tells the queue its state and its class with every announcement, and its node's meters
 * follow it: workers by state, restarts, a worker that stopped no longer counted.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class WorkerMetersTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "WorkerMetersTest",
          TestConfig.config(
              """
      prover.worker.restart.min-backoff = 20ms
      prover.worker.restart.max-backoff = 200ms
      prover.worker.announce-interval = 0s
      """));

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private String scrape() {
    return ProverMetrics.get(testKit.system()).scrape();
  }

  private void awaitMetric(String line) {
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              String text = scrape();
              assertTrue(text.contains(line), "expected " + line + " in\n" + text);
              return null;
            });
  }

  @Test
  void announcementsCarryStateAndClassAndTheNodesMetersFollow() {
    TestTasks.reset();
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    ActorRef<WorkerCommand> worker =
        testKit.spawn(
            Worker.create(
                WorkerSettings.fromConfig(testKit.system().settings().config(), "m1"),
                TaskCatalog.of(TestTasks.all()),
                queue.getRef(),
                null),
            "m1");
    WorkerServes unprepared = queue.expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.UNPREPARED, unprepared.state());
    assertEquals(Set.of("compile", "square", "add"), unprepared.configuredTypes());
    awaitMetric("prover_workers{state=\"unprepared\"} 1.0");

    worker.tell(
        new Dispatch(
            new TaskEnvelope(
                "reg", "f", "run-1", WorkerRegistrationTask.NAME, 1, new Keys("test-key")),
            queue.getRef()));
    queue.expectMessageClass(QueueCommand.TaskSucceeded.class);
    assertEquals(WorkerState.REGISTERED, queue.expectMessageClass(WorkerServes.class).state());
    WorkerServes ready = queue.expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.READY, ready.state());
    assertEquals(ready.taskTypes(), ready.configuredTypes());
    awaitMetric("prover_workers{state=\"ready\"} 1.0");
    assertTrue(scrape().contains("prover_workers{state=\"unprepared\"} 0.0"));

    // a crash restarts it: one restart, and it counts as Unprepared again
    worker.tell(
        new Dispatch(
            new TaskEnvelope("f:1", "f", "run-1", "square", 1, new Num(5, "crash-once:m1")),
            queue.getRef()));
    queue.fishForMessage(
        Duration.ofSeconds(5),
        m ->
            m instanceof WorkerServes serves && serves.state() == WorkerState.UNPREPARED
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
    awaitMetric("prover_worker_restarts_total 1.0");
    awaitMetric("prover_workers{state=\"unprepared\"} 1.0");

    testKit.stop(worker);
    awaitMetric("prover_workers{state=\"unprepared\"} 0.0");
  }
}
