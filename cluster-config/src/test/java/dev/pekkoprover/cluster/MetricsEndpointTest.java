package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 11, "what it must show" 1: the node's {@code /metrics}, scraped over HTTP during a run,
 * agrees with the queue's own statistics: completed per type equals the tasks the flows accepted,
 * the gauges show the tasks held, and a worker stopped while it holds a task shows as a redelivery
 * in the counter, with its reason.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsEndpointTest {
  private static final String SQUARE = "{entity=\"local\",task_type=\"square\"}";
  private static final String ADD = "{entity=\"local\",task_type=\"add\"}";

  private ProverNode node;

  @AfterEach
  void stop() {
    TestTasks.reset();
    node.close();
  }

  private String scrape() {
    Http.Answer answer = Http.get(node.httpUrl().orElseThrow() + "/metrics");
    assertEquals(200, answer.status());
    return answer.body();
  }

  @Test
  void aScrapeDuringARunMatchesTheQueuesStatisticsAndShowsARedelivery() {
    TestTasks.reset();
    node =
        TestNodes.node(
                "metrics",
                """
            prover.http.enabled = on
            prover.metrics.refresh-interval = 50ms
            """)
            .workers(WorkerGroup.allTypes(2, 1))
            .start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());

    // counters exported at zero before their first increment: Prometheus's increase() does not see
    // the first increment of a series that appears at 1 (a trial's scrape had no dropped results)
    String atStart = scrape();
    for (String reason : List.of("duplicate", "stale_run")) {
      String series = "prover_flow_results_dropped_total{reason=\"" + reason + "\"}";
      assertTrue(
          Pattern.compile("^" + Pattern.quote(series) + " 0(\\.0)?$", Pattern.MULTILINE)
              .matcher(atStart)
              .find(),
          series + " at 0 in:\n" + atStart);
    }

    // a first flow runs to the end: 16 leaves and 15 merges, each result accepted once by the flow
    List<Num> leaves = new ArrayList<>();
    for (int i = 1; i <= 16; i++) {
      leaves.add(Num.of(i));
    }
    FlowResult.Completed first =
        TestNodes.await(
            node.runWithStats(
                "sum",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
    assertEquals(31, first.stats().tasks());

    // a second flow whose two leaves hold their workers: the scrape is taken while it runs
    CompletableFuture<FlowResult.Completed> second =
        node.runWithStats(
                "held",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(new Num(2, "hold:m"), new Num(3, "hold:m")),
                    TestTasks.Add.INSTANCE,
                    Pair::new))
            .toCompletableFuture();
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(2, TestNodes.stats(node).of("square").inFlight());
              return null;
            });
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              String text = scrape();
              QueueStats stats = TestNodes.stats(node);
              assertEquals(2.0, Http.value(text, "prover_queue_in_flight_tasks" + SQUARE), text);
              assertEquals(16.0, Http.value(text, "prover_tasks_completed_total" + SQUARE), text);
              assertEquals(15.0, Http.value(text, "prover_tasks_completed_total" + ADD), text);
              assertEquals(
                  stats.of("square").completed(),
                  (long) Http.value(text, "prover_tasks_completed_total" + SQUARE));
              assertEquals(
                  stats.of("add").completed(),
                  (long) Http.value(text, "prover_tasks_completed_total" + ADD));
              assertEquals(
                  first.stats().tasks(),
                  (long)
                      (Http.value(text, "prover_tasks_completed_total" + SQUARE)
                          + Http.value(text, "prover_tasks_completed_total" + ADD)),
                  "completed = what the flow accepted");
              assertEquals(16.0, Http.value(text, "prover_task_run_seconds_count" + SQUARE), text);
              assertEquals(2.0, Http.value(text, "prover_workers{state=\"ready\"}"), text);
              assertEquals(1.0, Http.value(text, "prover_flows_running"), text);
              assertEquals(1.0, Http.value(text, "prover_flows_completed_total"), text);
              return null;
            });

    // stop one of the two holders: its task is put back (worker terminated) and runs on the other
    String holder = node.workers().keySet().iterator().next();
    node.stopWorker(holder);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              String text = scrape();
              QueueStats.TypeStats square = TestNodes.stats(node).of("square");
              assertEquals(1, square.redelivered());
              assertEquals(
                  1.0,
                  Http.value(
                      text,
                      "prover_tasks_redelivered_total{entity=\"local\",reason=\"worker_terminated\",task_type=\"square\"}"),
                  text);
              assertEquals(
                  square.redelivered(),
                  (long) Http.sum(text, "prover_tasks_redelivered_total", "task_type=\"square\""),
                  "every redelivery counted once, under its reason");
              assertEquals(1.0, Http.value(text, "prover_workers{state=\"ready\"}"), text);
              return null;
            });
    TestTasks.release("m");
    FlowResult.Completed done = TestNodes.await(second);
    assertEquals(Num.of(13), done.result());
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              String text = scrape();
              assertEquals(18.0, Http.value(text, "prover_tasks_completed_total" + SQUARE), text);
              assertEquals(16.0, Http.value(text, "prover_tasks_completed_total" + ADD), text);
              assertEquals(2.0, Http.value(text, "prover_flows_completed_total"), text);
              assertTrue(text.contains("# TYPE prover_task_wait_seconds histogram"), text);
              return null;
            });
  }
}
