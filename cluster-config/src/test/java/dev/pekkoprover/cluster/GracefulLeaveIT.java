package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A worker node that leaves the cluster gracefully mid-job (SIGTERM: CoordinatedShutdown, Leaving,
 * Exiting, Removed) does not stall the fleet: DashboardIT's cluster (one sequencer+queue node, a
 * worker node with one worker, one with two) runs DashboardIT's job, the one-worker node is stopped
 * once tasks are completing, and the queue's completed count (every type but registration, from the
 * sequencer node's {@code /status}, polled every 200 ms) never stands still for more than {@link
 * #MAX_GAP_MILLIS} from the stop to the end of the job, which ends {@code RESULT OK}.
 *
 * <p>Prints the gaps it measured and the sequencer's lines about the leaving worker; every node's
 * output is written to {@code target/it-logs/GracefulLeaveIT}.
 */
class GracefulLeaveIT {
  private static final int BLOCKS = 60;

  /**
   * Tasks complete many times a second while the job runs; a worker node's leave takes about a
   * second (Leaving to Removed, the leader being the sequencer's node), and the tasks its worker
   * held go back when its removal ends the queue's watch. Ten seconds leave room for a loaded
   * 2-core host.
   */
  private static final long MAX_GAP_MILLIS = 10_000;

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("GracefulLeaveIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /** One poll of the sequencer node's status: when (epoch millis) and the tasks completed. */
  private record Sample(long at, long completed) {}

  /** The tasks completed so far, every type but registration; -1 when the node did not answer. */
  private static long completed(int httpPort) {
    try {
      Http.Answer answer = Http.get("http://127.0.0.1:" + httpPort + "/status");
      if (answer.status() != 200) {
        return -1;
      }
      return StatusReport.fromJson(answer.body()).queues().stream()
          .filter(q -> !q.taskType().equals(WorkerRegistrationTask.NAME))
          .mapToLong(StatusReport.QueueRow::completed)
          .sum();
    } catch (AssertionError | java.io.IOException notAnswering) {
      return -1;
    }
  }

  @Test
  void aWorkerNodeLeavingMidJobDoesNotStallTheFleet() throws Exception {
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
            "16",
            "--batch",
            "3",
            "--proving-work",
            "30000",
            "--exit-when-done");
    int stoppedPort = NodeProcesses.freePort();
    NodeProcesses.Node stopped =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + stoppedPort,
            "--seeds",
            seed,
            "--workers",
            "1");
    int keptPort = NodeProcesses.freePort();
    processes.launch(
        "node", "--roles", "worker", "--port", "" + keptPort, "--seeds", seed, "--workers", "2");
    String stoppedNode = "127.0.0.1:" + stoppedPort;

    // tasks completing on the stopped node's worker too before it is stopped
    assertTrue(
        sequencer.awaitLine(line -> line.startsWith("produced "), 180),
        "blocks are being proven:\n" + sequencer.tail(40));
    List<Sample> samples = new ArrayList<>();
    long reached =
        NodeProcesses.polling(
                "100 tasks completed in the sequencer node's /status, or the job's end",
                Duration.ofSeconds(120),
                Duration.ofMillis(200))
            .until(
                () -> completed(seedHttp), done -> done >= 100 || !sequencer.process().isAlive());
    if (reached >= 100) {
      samples.add(new Sample(System.currentTimeMillis(), reached));
    }
    assertTrue(!samples.isEmpty(), "100 tasks completed:\n" + sequencer.tail(40));
    assertTrue(
        stopped.awaitLine(line -> line.contains(" is READY ("), 1),
        "the stopped node's worker was ready:\n" + stopped.tail(30));

    long stopAt = System.currentTimeMillis();
    stopped.process().destroy(); // SIGTERM: the node leaves the cluster gracefully
    long stopNanos = System.nanoTime();
    long deadline = stopNanos + TimeUnit.SECONDS.toNanos(300);
    long exitedAfter = -1;
    long slowestStatus = 0;
    while (sequencer.process().isAlive() && System.nanoTime() < deadline) {
      long asked = System.nanoTime();
      long done = completed(seedHttp);
      slowestStatus = Math.max(slowestStatus, System.nanoTime() - asked);
      if (done >= 0) {
        samples.add(new Sample(System.currentTimeMillis(), done));
      }
      if (exitedAfter < 0 && !stopped.process().isAlive()) {
        exitedAfter = System.nanoTime() - stopNanos;
      }
      sequencer.process().waitFor(200, TimeUnit.MILLISECONDS); // the next sample, or the job's end
    }
    assertTrue(stopped.awaitExit(60), "the stopped node exited:\n" + stopped.tail(30));
    assertTrue(sequencer.awaitExit(30), "the job ended:\n" + sequencer.tail(60));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    // the longest time the count stood still after the stop: between two increases, or from the
    // stop to the first one; the job's end is the last increase
    long longest = 0;
    long gapStart = stopAt;
    long longestFrom = stopAt;
    long previous = samples.get(0).completed();
    for (Sample sample : samples) {
      if (sample.at() < stopAt) {
        continue;
      }
      if (sample.completed() > previous) {
        if (sample.at() - gapStart > longest) {
          longest = sample.at() - gapStart;
          longestFrom = gapStart;
        }
        gapStart = sample.at();
        previous = sample.completed();
      }
    }
    Sample last = samples.get(samples.size() - 1);
    System.out.printf(
        "GracefulLeaveIT: stopped %s at %d tasks; %d tasks at the last poll, %.1f s after the stop;"
            + " longest stand-still %d ms, from %.1f s after the stop; the stopped node exited"
            + " %.1f s after the stop; slowest /status %d ms%n",
        stoppedNode,
        samples.get(0).completed(),
        last.completed(),
        (last.at() - stopAt) / 1000.0,
        longest,
        (longestFrom - stopAt) / 1000.0,
        exitedAfter / 1e9,
        TimeUnit.NANOSECONDS.toMillis(slowestStatus));
    sequencer
        .linesWhere(
            text ->
                text.contains(stoppedNode)
                    && (text.contains("put back")
                        || text.contains("terminated")
                        || text.contains("left")
                        || text.contains("going down")
                        || text.contains("unreachable")))
        .forEach(
            line ->
                System.out.printf(
                    "  +%.1f s %s%n", (line.millis() - stopAt) / 1000.0, line.text()));
    assertTrue(
        longest <= MAX_GAP_MILLIS,
        "the fleet completed no task for "
            + longest
            + " ms, from "
            + (longestFrom - stopAt)
            + " ms after the worker node was stopped:\n"
            + sequencer.tail(60));
  }
}
