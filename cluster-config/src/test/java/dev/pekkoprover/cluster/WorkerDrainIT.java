package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A worker node stopped with SIGTERM (a scale-down, a rolling update) finishes the proof it is
 * computing before it leaves, instead of throwing it away: real processes from the jar, the shipped
 * configuration (TLS on, {@code prover.worker.drain-timeout = 25s}), one sequencer+queue node and
 * two worker nodes of one worker each with one slot, proofs of about 3 s ({@code --proving-work}).
 * The first worker node gets SIGTERM while its worker holds a task (the sequencer node's {@code
 * /status} says so); it drains, exits 0, and the sequencer puts back none of its tasks; its own
 * HTTP endpoints answer meanwhile (alive, not ready, its worker draining in {@code /metrics}). The
 * job ends {@code RESULT OK}.
 */
class WorkerDrainIT {
  private static final int BLOCKS = 2;

  /** SHA-256 iterations per proof: about 3 s of one core here. */
  private static final String PROVING_WORK = "30000000";

  private static final Pattern DRAINED =
      Pattern.compile("drained in (\\d+) ms: (\\d+) compute\\(s\\) finished, (\\d+) task\\(s\\)");

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("WorkerDrainIT"));

  @AfterEach
  void killEverything() {
    processes.close();
  }

  /** The workers in the node's /status; none when it did not answer. */
  private static List<StatusReport.WorkerRow> workers(int httpPort) {
    try {
      Http.Answer answer = Http.get("http://127.0.0.1:" + httpPort + "/status");
      return answer.status() == 200 ? StatusReport.fromJson(answer.body()).workers() : List.of();
    } catch (AssertionError | java.io.IOException notAnswering) {
      return List.of();
    }
  }

  /** This worker's row in the status; null when it is not there. */
  private static StatusReport.WorkerRow row(int httpPort, String workerId) {
    return workers(httpPort).stream().filter(w -> w.id().equals(workerId)).findFirst().orElse(null);
  }

  /** The row of a worker of this node that holds a task; null when none does. */
  private static StatusReport.WorkerRow busy(int httpPort, String node) {
    return workers(httpPort).stream()
        .filter(w -> w.node().equals(node) && w.inFlight() > 0)
        .findFirst()
        .orElse(null);
  }

  /**
   * One look at a node's own endpoints: the status codes of {@code /health/alive} and {@code
   * /health/ready} (-1 when it did not answer), the readiness body, and its workers draining in
   * {@code /metrics}.
   */
  private record Endpoints(int alive, int ready, String readyBody, double draining) {
    static Endpoints of(int httpPort) {
      String base = "http://127.0.0.1:" + httpPort;
      try {
        Http.Answer alive = Http.get(base + "/health/alive");
        Http.Answer ready = Http.get(base + "/health/ready");
        Http.Answer metrics = Http.get(base + "/metrics");
        return new Endpoints(
            alive.status(),
            ready.status(),
            ready.body(),
            Http.value(metrics.body(), "prover_workers{state=\"draining\"}"));
      } catch (AssertionError notAnswering) {
        return new Endpoints(-1, -1, String.valueOf(notAnswering.getMessage()), 0);
      }
    }

    boolean drainingSeen() {
      return alive == 200 && ready == 503 && readyBody.contains("shutting down") && draining == 1;
    }
  }

  @Test
  void aWorkerNodeStoppedMidProofFinishesItBeforeItLeavesAndNothingIsPutBack() throws Exception {
    int seedPort = NodeProcesses.freePort();
    int seedHttp = NodeProcesses.freePort();
    String seed = "127.0.0.1:" + seedPort;
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + seedPort,
            "--http-port",
            "" + seedHttp,
            "--blocks",
            "" + BLOCKS,
            "--txs",
            "2",
            "--batch",
            "2",
            "--proving-work",
            PROVING_WORK,
            "--exit-when-done");
    int drainedPort = NodeProcesses.freePort();
    int drainedHttp = NodeProcesses.freePort();
    String drainedNode = "127.0.0.1:" + drainedPort;
    NodeProcesses.Node drained =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + drainedPort,
            "--http-port",
            "" + drainedHttp,
            "--seeds",
            seed,
            "--workers",
            "1",
            "--concurrency",
            "1");
    processes.launch(
        "node",
        "--roles",
        "worker",
        "--port",
        "" + NodeProcesses.freePort(),
        "--seeds",
        seed,
        "--workers",
        "1",
        "--concurrency",
        "1");

    StatusReport.WorkerRow holding =
        NodeProcesses.polling(
                "the worker of node " + drainedNode + " holding a proof, in /status",
                Duration.ofSeconds(180),
                Duration.ofMillis(100))
            .until(
                () -> busy(seedHttp, drainedNode),
                row -> row != null && row.servedTypes().contains("RuntimeProvingTask"));
    long stopAt = System.currentTimeMillis();
    // SIGTERM through the handle: Process.destroy() would also close our end of its output
    drained.process().toHandle().destroy();
    long stopNanos = System.nanoTime();
    // the fleet view shows it draining, with what it still runs, until its node is removed
    StatusReport.WorkerRow draining =
        NodeProcesses.polling(
                "the worker of node " + drainedNode + " draining, in /status",
                Duration.ofSeconds(20),
                Duration.ofMillis(100))
            .until(
                () -> row(seedHttp, holding.id()),
                row -> row != null && row.state().equals("draining"));
    assertEquals(List.of(), draining.servedTypes(), "a draining worker serves nothing");
    // its own endpoints answer through the drain: alive, not ready, its worker draining
    Endpoints seen =
        NodeProcesses.polling(
                "node " + drainedNode + "'s own endpoints during its drain",
                Duration.ofSeconds(20),
                Duration.ofMillis(100))
            .until(
                () -> Endpoints.of(drainedHttp),
                now -> now.drainingSeen() || !drained.process().isAlive());
    assertTrue(
        seen.drainingSeen(),
        "after the SIGTERM, the drained node's /health/alive answered 200, /health/ready 503"
            + " (shutting down) and /metrics showed its worker draining: "
            + seen
            + "\n"
            + drained.tail(30));
    assertTrue(drained.awaitExit(60), "the drained node exited:\n" + drained.tail(30));
    double exitedAfter = (System.nanoTime() - stopNanos) / 1e9;
    assertEquals(0, drained.process().exitValue(), drained.tail(30));

    assertTrue(sequencer.awaitExit(240), "the job ended:\n" + sequencer.tail(60));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    String workerId = holding.id();
    List<NodeProcesses.Line> drainedLines =
        drained.linesWhere(line -> line.contains("DRAINING") || line.contains(" drained in "));
    List<NodeProcesses.Line> sequencerLines =
        sequencer.linesWhere(
            line ->
                line.contains(workerId)
                    && (line.contains("drains")
                        || line.contains("put back")
                        || line.contains("going down")));
    System.out.printf(
        "WorkerDrainIT: stopped %s holding %d task(s); it exited %.1f s after the SIGTERM%n",
        drainedNode, holding.inFlight(), exitedAfter);
    for (NodeProcesses.Line line : drainedLines) {
      System.out.printf(
          "  drained node +%.1f s %s%n", (line.millis() - stopAt) / 1000.0, line.text());
    }
    for (NodeProcesses.Line line : sequencerLines) {
      System.out.printf("  sequencer +%.1f s %s%n", (line.millis() - stopAt) / 1000.0, line.text());
    }

    String summary =
        drained.linesWhere(line -> DRAINED.matcher(line).find()).stream()
            .map(NodeProcesses.Line::text)
            .findFirst()
            .orElse(null);
    assertTrue(summary != null, "the worker said it drained:\n" + drained.tail(30));
    Matcher figures = DRAINED.matcher(summary);
    assertTrue(figures.find());
    assertTrue(
        Integer.parseInt(figures.group(2)) >= 1,
        "the proof under way at the SIGTERM was finished: " + summary);
    assertTrue(
        sequencer
                .linesWhere(line -> line.contains("worker " + workerId) && line.contains("drains"))
                .size()
            >= 1,
        "the queue heard that the worker drains:\n" + sequencer.tail(60));
    assertEquals(
        List.of(),
        sequencer
            .linesWhere(
                line ->
                    line.contains(workerId)
                        && (line.contains("put back") || line.contains("going down")))
            .stream()
            .map(NodeProcesses.Line::text)
            .toList(),
        "nothing of the drained worker was put back");
    assertTrue(
        exitedAfter < 25 + 10,
        "the drained node left within its drain time and the leave: " + exitedAfter + " s");
    assertEquals(
        List.of(),
        drained
            .linesWhere(
                line ->
                    (line.contains(" WARN ") || line.contains(" ERROR "))
                        && !NodeProcesses.upstreamTerminateStall(line))
            .stream()
            .map(NodeProcesses.Line::text)
            .toList(),
        "the drained node said nothing was wrong");
  }
}
