package dev.pekkoprover.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, "what it must show" 2: the status API and the {@code status} command against a real
 * three-process cluster started from the launcher with the shipped configuration (one
 * sequencer+queue node, two worker nodes): the worker count and states, a worker node killed with
 * SIGKILL disappearing, a joining one appearing, the killed one started again counting its restart;
 * any node answers for the fleet; the command prints tables, and gets one line and a non-zero code
 * for bad input.
 */
class FleetStatusIT {
  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("FleetStatusIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  private static StatusReport status(int httpPort) {
    Http.Answer answer = Http.get("http://127.0.0.1:" + httpPort + "/status");
    assertEquals(200, answer.status(), answer.body());
    try {
      return StatusReport.fromJson(answer.body());
    } catch (Exception e) {
      throw new AssertionError("not a status: " + answer.body(), e);
    }
  }

  /**
   * Polls the node's /status every 250 ms until {@code test} holds (up to {@code seconds}); returns
   * that report. The timeout names {@code what} and shows the last report.
   */
  private static StatusReport awaitStatus(
      int httpPort, Predicate<StatusReport> test, long seconds, String what) {
    return await(what + " in the /status of port " + httpPort)
        .atMost(Duration.ofSeconds(seconds))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(250))
        .ignoreExceptionsInstanceOf(AssertionError.class) // not listening yet
        .until(() -> status(httpPort), test);
  }

  private static List<String> workerNodes(StatusReport report) {
    return report.workers().stream().map(StatusReport.WorkerRow::node).sorted().toList();
  }

  private static boolean allReady(StatusReport report) {
    return report.workers().stream().allMatch(w -> w.state().equals("ready"));
  }

  private NodeProcesses.Node statusCommand(String... args) throws Exception {
    String[] command = new String[args.length + 1];
    command[0] = "status";
    System.arraycopy(args, 0, command, 1, args.length);
    NodeProcesses.Node run = processes.launch(command);
    assertTrue(run.awaitExit(60), "the status command ended: " + run.output());
    run.awaitLine(line -> false, 1); // let the reader drain the last lines
    return run;
  }

  @Test
  void theStatusFollowsWorkerNodesKilledAndJoining() throws Exception {
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
            "4",
            "--txs",
            "8",
            "--batch",
            "2",
            "--proving-work",
            "2000");
    assertTrue(
        sequencer.awaitLine(
            line ->
                line.equals(
                    "endpoints of node "
                        + seed
                        + ": dashboard http://127.0.0.1:"
                        + seedHttp
                        + "/dashboard, status http://127.0.0.1:"
                        + seedHttp
                        + "/status, metrics http://127.0.0.1:"
                        + seedHttp
                        + "/metrics, health http://127.0.0.1:"
                        + seedHttp
                        + "/health/alive and http://127.0.0.1:"
                        + seedHttp
                        + "/health/ready"),
            60),
        "one start-up line with the endpoints:\n" + sequencer.output());
    // printed once: the node's own log line of it (for a library's nodes) is off in the launcher
    assertEquals(
        1,
        sequencer.linesWhere(line -> line.contains("endpoints of node ")).size(),
        sequencer.output());

    int firstPort = NodeProcesses.freePort();
    int firstHttp = NodeProcesses.freePort();
    processes.launch(
        "node",
        "--roles",
        "worker",
        "--port",
        "" + firstPort,
        "--seeds",
        seed,
        "--http-port",
        "" + firstHttp);
    int doomedPort = NodeProcesses.freePort();
    NodeProcesses.Node doomed =
        processes.launch("node", "--roles", "worker", "--port", "" + doomedPort, "--seeds", seed);
    String first = "127.0.0.1:" + firstPort;
    String victim = "127.0.0.1:" + doomedPort;

    StatusReport two =
        awaitStatus(seedHttp, r -> r.workers().size() == 2 && allReady(r), 90, "two Ready workers");
    assertEquals(List.of(first, victim).stream().sorted().toList(), workerNodes(two));
    assertTrue(two.node().ready(), two.node().toString());
    assertEquals("Up", two.node().memberStatus());
    // the job ran on them: the sequencer's flows are there, and the queues counted the tasks
    StatusReport proven =
        awaitStatus(
            seedHttp,
            r -> r.flows().available() && r.flows().completed() == 2,
            120,
            "the job's two batches proven");
    assertTrue(
        proven.queues().stream().anyMatch(q -> q.completed() > 0), proven.queues().toString());

    // any node answers for the whole fleet: the first worker node's own endpoint, flows found
    // through the cluster
    StatusReport fromWorker =
        awaitStatus(
            firstHttp,
            r -> r.workers().size() == 2 && r.flows().available(),
            30,
            "the fleet seen from a worker node");
    assertEquals(workerNodes(two), workerNodes(fromWorker));
    assertEquals(List.of("worker"), fromWorker.node().roles());

    // the command prints the same as tables
    NodeProcesses.Node tables = statusCommand("--node", "127.0.0.1:" + seedHttp);
    assertEquals(0, tables.process().exitValue(), tables.output());
    assertTrue(tables.output().contains("workers: 2"), tables.output());
    assertTrue(tables.output().contains(victim + "-w1"), tables.output());
    assertTrue(tables.output().contains("queues"), tables.output());

    // a worker node killed: it disappears once the cluster has removed it
    doomed.process().destroyForcibly();
    assertTrue(doomed.awaitExit(10));
    StatusReport one =
        awaitStatus(seedHttp, r -> r.workers().size() == 1, 60, "the killed worker gone");
    assertEquals(List.of(first), workerNodes(one));
    // and stays on view as a departed worker: a kill is an unreachable node, then its removal
    StatusReport.DepartedRow killed =
        one.departedWorkers().stream()
            .filter(d -> d.id().equals(victim + "-w1"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no departed row: " + one.departedWorkers()));
    assertEquals("unreachable", killed.how(), killed.toString());
    assertEquals("ready", killed.lastState(), killed.toString());
    assertEquals(victim, killed.node());

    // a joining worker node appears, Unprepared first or at once Ready, then Ready
    int joinerPort = NodeProcesses.freePort();
    String joiner = "127.0.0.1:" + joinerPort;
    processes.launch("node", "--roles", "worker", "--port", "" + joinerPort, "--seeds", seed);
    StatusReport again =
        awaitStatus(
            seedHttp, r -> r.workers().size() == 2 && allReady(r), 90, "the joining worker Ready");
    assertEquals(List.of(first, joiner).stream().sorted().toList(), workerNodes(again));
    NodeProcesses.Node after = statusCommand("--node", "127.0.0.1:" + seedHttp);
    assertEquals(0, after.process().exitValue(), after.output());
    String[] sections = after.output().split("left in the last 10 minutes: 1", 2);
    assertEquals(2, sections.length, "a table of the departed worker:\n" + after.output());
    assertTrue(sections[0].contains(joiner + "-w1"), after.output());
    assertFalse(sections[0].contains(victim + "-w1"), "among the workers:\n" + after.output());
    assertTrue(
        sections[1].lines().anyMatch(l -> l.contains(victim + "-w1") && l.contains("unreachable")),
        after.output());

    // the killed node's command started again, as a process supervisor would: the same worker id
    // is a live row again, its restart counted, though the queue had forgotten it in between
    processes.relaunch(doomed);
    StatusReport back =
        awaitStatus(
            seedHttp, r -> r.workers().size() == 3 && allReady(r), 90, "the killed worker back");
    StatusReport.WorkerRow restarted =
        back.workers().stream()
            .filter(w -> w.id().equals(victim + "-w1"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no row: " + back.workers()));
    assertEquals(1, restarted.restarts(), restarted.toString());
    assertTrue(
        back.departedWorkers().stream().noneMatch(d -> d.id().equals(victim + "-w1")),
        back.departedWorkers().toString());

    // bad input: one line, a non-zero code
    NodeProcesses.Node noPort = statusCommand("--node", "127.0.0.1");
    assertEquals(StatusClient.BAD_INPUT, noPort.process().exitValue(), noPort.output());
    assertEquals(1, noPort.lines().size(), noPort.output());
    NodeProcesses.Node nobody = statusCommand("--node", "127.0.0.1:" + NodeProcesses.freePort());
    assertEquals(StatusClient.NO_STATUS, nobody.process().exitValue(), nobody.output());
    assertEquals(1, nobody.lines().size(), nobody.output());
  }
}
