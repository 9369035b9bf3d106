package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, must-show 1 and 5: only trusted nodes join. Three nodes with certificates of the test's
 * CA (a {@code sequencer,queue} node and two workers, TLS on as shipped) prove the job with {@code
 * RESULT OK} while three strangers try to join through the same seed: one started with {@code
 * --no-tls}, one with a certificate of another CA (same cluster name), one with a valid certificate
 * but another {@code --cluster-name}. The seed logs one line per refused stranger, the run's roots
 * equal the direct ones, no stranger ever becomes a member (none says it is Up, the seed's {@code
 * /status} lists none of their workers) and the one with the other cluster name is told the likely
 * causes. A fourth trusted node of another build ({@code -Dprover.appchain.circuit-version=2})
 * joins but its worker is refused by the queue with one line naming the difference (must-show 2
 * across processes) and listed as refused. Every node's output is written to {@code
 * target/it-logs/TrustedNodesIT}.
 */
class TrustedNodesIT {
  private static final int BLOCKS = 6;
  private static final Pattern STATUS_URL = Pattern.compile("status (http://[^ ,]+/status)");
  private static final Pattern REFUSED_WORKERS =
      Pattern.compile(
          "(?m)^prover_queue_workers\\{entity=\"[^\"]+\",state=\"refused\",task_type=\"[^\"]+\"\\}"
              + " [1-9]");

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("TrustedNodesIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  @Test
  void onlyNodesWithThisClustersCertificatesJoinAndTheSeedLogsEachRefusal() throws Exception {
    int port = NodeProcesses.freePort();
    String seed = "127.0.0.1:" + port;
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + port,
            "--blocks",
            "" + BLOCKS,
            "--txs",
            "16",
            "--proving-work",
            "2000");
    NodeProcesses.Node transitions =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + NodeProcesses.freePort(),
            "--seeds",
            seed,
            "--tasks",
            "StateTransitionTask,StateTransitionReductionTask");
    NodeProcesses.Node rest =
        processes.launch(
            "node", "--roles", "worker", "--port", "" + NodeProcesses.freePort(), "--seeds", seed);
    assertTrue(
        sequencer.awaitLine(line -> line.contains(" started with roles "), 120),
        sequencer.tail(30));
    // a trusted node (this CA's certificate) of another build: its circuits are version 2, the
    // cluster's 1
    int otherBuildPort = NodeProcesses.freePort();
    NodeProcesses.Node otherBuild =
        processes.launch(
            List.of("-Dprover.appchain.circuit-version=2"),
            List.of("node", "--roles", "worker", "--port", "" + otherBuildPort, "--seeds", seed));

    Path otherCa =
        NodeProcesses.keySet().resolveSibling(NodeProcesses.keySet().getFileName() + "-other-ca");
    ClusterKeys.makeKeySet(otherCa, NodeLauncher.SYSTEM, 1, 1);
    int plainPort = NodeProcesses.freePort();
    int otherCaPort = NodeProcesses.freePort();
    int otherNamePort = NodeProcesses.freePort();
    NodeProcesses.Node plain =
        processes.launch(
            "node", "--roles", "worker", "--port", "" + plainPort, "--seeds", seed, "--no-tls");
    NodeProcesses.Node foreign =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + otherCaPort,
            "--seeds",
            seed,
            "--tls",
            otherCa.resolve("node-1").toString());
    NodeProcesses.Node otherCluster =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + otherNamePort,
            "--seeds",
            seed,
            "--cluster-name",
            "other");
    List<NodeProcesses.Node> strangers = List.of(plain, foreign, otherCluster);

    // the run, unaffected
    assertTrue(
        sequencer.awaitLine(line -> line.startsWith("RESULT "), 240),
        "the run ended:\n" + sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    // the seed says once per stranger that it refused it
    assertTrue(
        sequencer.awaitLine(
            line -> line.contains("refused a node's connection: it does not speak TLS"), 120),
        "the seed logs the node without TLS:\n" + sequencer.tail(40));
    assertTrue(
        sequencer.awaitLine(
            line ->
                line.contains("refused a node's connection")
                    && line.contains("does not trust this node's certificate"),
            120),
        "the seed logs the node of another CA:\n" + sequencer.tail(40));
    String dropped = "Dropping Handshake Request from [pekko://other@127.0.0.1:" + otherNamePort;
    assertTrue(
        sequencer.awaitLine(line -> line.contains(dropped), 120),
        "the seed logs the node of another cluster name:\n" + sequencer.tail(40));
    // the stranger of another cluster name is told what is wrong: its certificate (the test key
    // set's, made for cluster 'prover') says so at start and in its waiting line
    assertTrue(
        otherCluster.awaitLine(
            line ->
                line.contains("waiting to join cluster 'other'")
                    && line.contains(
                        "The likely cause: this node's certificate was made for cluster 'prover'"),
            60),
        "the node of another cluster name gets the clear line:\n" + otherCluster.tail(30));
    assertTrue(
        otherCluster.awaitLine(
            line ->
                line.contains(" WARN ")
                    && line.contains("this node's certificate was made for cluster 'prover'")
                    && line.contains("Start it with --cluster-name prover"),
            1),
        "its start-up line:\n" + otherCluster.tail(30));
    // ... and its retries (dozens a second on Pekko's side) stay one line while it keeps trying:
    // until it has said
    // twice more that it still waits (prover.cluster.report-waiting-every, 5 s, in the wait's first
    // minute; once a minute after it)
    int waited =
        otherCluster.linesWhere(line -> line.contains("waiting to join cluster 'other'")).size();
    assertTrue(
        otherCluster.awaitLine(
            line ->
                otherCluster.linesWhere(l -> l.contains("waiting to join cluster 'other'")).size()
                    >= waited + 2,
            130),
        "the node of another cluster name keeps trying:\n" + otherCluster.tail(20));
    assertEquals(
        1,
        sequencer.linesWhere(line -> line.contains(dropped)).size(),
        "one line for the refused cluster name, not one per retry");
    assertEquals(
        1,
        sequencer.linesWhere(line -> line.contains("it does not speak TLS")).size(),
        "one line for the node without TLS");

    // no stranger ever became a member
    for (NodeProcesses.Node stranger : strangers) {
      assertTrue(
          stranger.process().isAlive(),
          "the stranger still runs, still refused:\n" + stranger.tail(20));
      assertFalse(
          stranger.output().contains(" is Up in the cluster of "),
          "stranger " + stranger.arg("--port") + " never Up:\n" + stranger.tail(20));
      assertFalse(
          stranger.output().contains(" joined the cluster after waiting"), stranger.tail(20));
    }

    // stopped, a stranger does not claim to have left a cluster it never joined
    assertTrue(
        foreign.awaitLine(line -> line.contains(" started with roles "), 30), foreign.tail(20));
    foreign.process().toHandle().destroy(); // SIGTERM (Process.destroy would close our end too)
    assertTrue(foreign.awaitExit(60), "the stranger stops on SIGTERM:\n" + foreign.tail(20));
    assertEquals(0, foreign.process().exitValue(), foreign.tail(20));
    assertTrue(
        foreign.output().contains(" stopped by a signal before it ever joined the cluster"),
        foreign.tail(20));

    // the member of another build is in the cluster but refused by the queue: one line, and it gets
    // no work
    String refusal = "its task catalog differs from this queue's";
    assertEquals(
        1,
        sequencer
            .linesWhere(
                line ->
                    line.contains("refused worker 127.0.0.1:" + otherBuildPort)
                        && line.contains(refusal)
                        && line.contains("version 2 (queue has 1)"))
            .size(),
        "one line names the worker of another build and the difference:\n" + sequencer.tail(60));
    assertTrue(
        otherBuild.output().contains(refusal),
        "the refused worker is told why:\n" + otherBuild.tail(20));

    Matcher url = STATUS_URL.matcher(sequencer.output());
    assertTrue(url.find(), "the seed prints its status URL");
    String status = Http.get(url.group(1)).body();
    assertTrue(
        status.contains("127.0.0.1:" + transitions.arg("--port")),
        "the members' workers are listed:\n" + status);
    assertTrue(status.contains("127.0.0.1:" + rest.arg("--port")), status);
    StatusReport.WorkerRow refusedRow =
        StatusReport.fromJson(status).workers().stream()
            .filter(w -> w.id().startsWith("127.0.0.1:" + otherBuildPort))
            .findFirst()
            .orElseThrow(
                () ->
                    new AssertionError("the status lists the worker of another build:\n" + status));
    assertTrue(
        String.valueOf(refusedRow.refused()).startsWith(refusal),
        "listed as refused: " + refusedRow);
    assertEquals(0, refusedRow.done(), "it ran nothing: " + refusedRow);
    // and the queue's workers gauge counts it as refused (what ProverWorkersRefused alerts on), not
    // under the state it announces
    String metrics = url.group(1).replace("/status", "/metrics");
    NodeProcesses.polling(
            "a worker counted as refused in " + metrics,
            Duration.ofSeconds(10),
            Duration.ofMillis(200))
        .until(() -> REFUSED_WORKERS.matcher(Http.get(metrics).body()).find());
    for (int strangerPort : new int[] {plainPort, otherCaPort, otherNamePort}) {
      assertFalse(
          status.contains("127.0.0.1:" + strangerPort),
          "no worker of stranger " + strangerPort + ":\n" + status);
      assertFalse(
          sequencer.output().contains("worker node 127.0.0.1:" + strangerPort),
          "the sequencer never saw stranger " + strangerPort + " as a worker node");
    }
  }
}
