package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link ProverNode#cancel}: how a caller bounds a flow that waits for a worker no one will be (a
 * trial's library flow used a type no worker served and waited for ever, with no way to stop it).
 */
@ExtendWith(LogCapturingExtension.class)
class FlowCancelTest {
  private ProverNode node;

  @AfterEach
  void stop() {
    TestTasks.reset();
    if (node != null) {
      node.close();
    }
  }

  @Test
  void aCancelledFlowFailsWithTheReasonItsTasksAreWithdrawnAndItCanRunAgain() throws Exception {
    TestTasks.reset();
    node =
        TestNodes.node("cancel", "prover.http.enabled = on")
            .workers(WorkerGroup.of(1, List.of("compile", "square"), 2))
            .start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());
    CompletableFuture<Num> waiting =
        node.run("sums", TestNodes.sumOfSquares(2, 3)).toCompletableFuture();
    // its merge waits in the queue: no worker serves add
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(1, TestNodes.await(node.queueStats()).of("add").pending());
              return null;
            });
    assertEquals(
        List.of(), TestNodes.await(node.cancel("other", "no such flow")), "another name: none");
    List<String> cancelled =
        LoggingTestKit.info("cancelled (the caller gave up after 10 s)")
            .expect(
                node.system(),
                () -> TestNodes.await(node.cancel("sums", "the caller gave up after 10 s")));
    assertEquals(1, cancelled.size(), cancelled.toString());
    assertTrue(cancelled.get(0).startsWith("sums-"), cancelled.toString());

    ExecutionException failed =
        assertThrows(ExecutionException.class, () -> waiting.get(10, TimeUnit.SECONDS));
    FlowFailedException cause = (FlowFailedException) failed.getCause();
    assertEquals(cancelled.get(0), cause.flowId());
    assertEquals(
        "flow " + cancelled.get(0) + " failed: cancelled: the caller gave up after 10 s",
        cause.getMessage());
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(0, TestNodes.await(node.queueStats()).of("add").pending());
              StatusReport report = TestNodes.status(node);
              assertEquals(0, report.flows().running());
              assertEquals(0, report.flows().failed(), "a cancelled flow is not a failed one");
              assertTrue(
                  report.recentFailures().stream()
                      .anyMatch(
                          f ->
                              f.kind().equals("flow cancelled")
                                  && f.flowId().equals(cancelled.get(0))
                                  && f.reason().equals("cancelled: the caller gave up after 10 s")),
                  report.recentFailures().toString());
              String metrics = Http.get(node.httpUrl().orElseThrow() + "/metrics").body();
              assertTrue(metrics.contains("prover_flows_cancelled_total 1.0"), metrics);
              assertTrue(metrics.contains("prover_flows_failed_total 0.0"), metrics);
              return null;
            });
    assertEquals(List.of(), TestNodes.await(node.cancel("sums", "again")), "it ended");

    // nothing of it was kept: the same name runs afresh once a worker serves add
    node.addWorker(List.of("compile", "add"), 1);
    assertEquals(
        13,
        node.run("sums", TestNodes.sumOfSquares(2, 3))
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS)
            .value());
  }
}
