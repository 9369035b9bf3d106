package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13 (item 6): a node whose peer is missing says at INFO what it waits for and how to fix it,
 * again every {@code prover.cluster.report-waiting-every} (5 s in the shipped configuration), and
 * does not flood its log with WARN lines meanwhile (before, an unreachable seed or a missing queue
 * node gave about eight WARN lines a second forever). Real launcher processes with the shipped
 * configuration; every process is killed at the end.
 */
class LauncherWaitsIT {
  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("LauncherWaitsIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /**
   * WARN or ERROR log lines of a node (Pekko's and ours, the logback pattern puts the level after
   * the time).
   */
  private static List<NodeProcesses.Line> warnings(NodeProcesses.Node node) {
    return node.linesWhere(line -> line.matches("^\\d{2}:\\d{2}:\\d{2}\\.\\d{3} (WARN|ERROR) .*"));
  }

  /**
   * Waits until the node has said {@code says} {@code times} times; the assertion names what it
   * printed.
   */
  private static void awaitSaid(NodeProcesses.Node node, String says, int times, long seconds)
      throws InterruptedException {
    assertTrue(
        node.awaitLine(
            ignored -> node.linesWhere(line -> line.contains(says)).size() >= times, seconds),
        "said '" + says + "' " + times + " times:\n" + node.tail(30));
  }

  /**
   * The node says {@code waiting} again twice more (at least 10 s of retrying) after its first
   * time, with a few WARN lines at most meanwhile, and keeps running.
   */
  private static void saysItAgainWithoutAWarnFlood(NodeProcesses.Node node, String waiting)
      throws InterruptedException {
    awaitSaid(node, waiting, 3, 60);
    List<NodeProcesses.Line> said = node.linesWhere(line -> line.contains(waiting));
    long from = said.get(0).millis();
    long to = said.get(2).millis();
    long during =
        warnings(node).stream().filter(line -> line.millis() > from && line.millis() <= to).count();
    assertTrue(
        during <= 3,
        "a few WARN lines at most in the "
            + (to - from)
            + " ms between its first and third line, not one per retry; got "
            + during
            + ":\n"
            + node.tail(40));
    assertTrue(node.process().isAlive(), "it keeps waiting, not giving up:\n" + node.tail(20));
  }

  /**
   * Both nodes start together (the waits overlap): a worker whose seed is not running, and a
   * sequencer node without a queue node.
   */
  @Test
  void aMissingPeerIsSaidEveryFewSecondsWithWhatToDoAndWithoutAWarnFlood() throws Exception {
    int nobody = NodeProcesses.freePort(); // no process listens here
    NodeProcesses.Node worker =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + NodeProcesses.freePort(),
            "--seeds",
            "127.0.0.1:" + nobody);
    int sequencerPort = NodeProcesses.freePort();
    NodeProcesses.Node sequencer =
        processes.launch(
            "node", "--roles", "sequencer", "--port", "" + sequencerPort, "--blocks", "1");

    // and a stateful node alone (its own seed), as after a restart whose workers exited or formed
    // a cluster of their own
    int loneQueuePort = NodeProcesses.freePort();
    NodeProcesses.Node lone =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + loneQueuePort,
            "--seeds",
            "127.0.0.1:" + loneQueuePort,
            "--blocks",
            "1",
            "--exit-when-done");

    // a sequencer node whose seed is not running either: its /status must not call it a standby
    // (it cannot take the sequencer over before it is Up; earlier builds said standby)
    int waitingHttp = NodeProcesses.freePort();
    processes.launch(
        "node",
        "--roles",
        "sequencer",
        "--port",
        "" + NodeProcesses.freePort(),
        "--http-port",
        "" + waitingHttp,
        "--seeds",
        "127.0.0.1:" + nobody,
        "--blocks",
        "1");

    String joining = "waiting to join cluster 'prover' through seeds [127.0.0.1:" + nobody + "]";
    awaitSaid(worker, joining, 1, 60);
    StatusReport.NodeInfo notJoined =
        NodeProcesses.polling(
                "the waiting sequencer node's /status",
                Duration.ofSeconds(60),
                Duration.ofMillis(500))
            .ignoreExceptions()
            .until(
                () ->
                    StatusReport.fromJson(
                            Http.get("http://127.0.0.1:" + waitingHttp + "/status").body())
                        .node(),
                node -> node != null);
    assertEquals(ProverNode.NOT_JOINED, notJoined.memberStatus(), notJoined.toString());
    assertEquals("joining", notJoined.sequencer(), notJoined.toString());
    assertTrue(
        worker
            .output()
            .contains("Likely causes: no seed is running or --seeds has a wrong address"),
        worker.tail(20));
    // the seed where nothing listens is named, and Pekko's WARN per refused connection (two every
    // 10 s, and a handshake timeout every 20 s) is not in the log
    awaitSaid(
        worker,
        "none let it in yet ([127.0.0.1:" + nobody + "] refused the connection: nothing listens",
        1,
        60);
    String noQueue = "no node with role queue is up for ";
    awaitSaid(sequencer, noQueue, 1, 60);
    assertTrue(
        sequencer
            .linesWhere(line -> line.contains(noQueue))
            .get(0)
            .text()
            .contains("this node's workers and flows wait; start one with --roles queue"),
        sequencer.tail(20));
    saysItAgainWithoutAWarnFlood(worker, joining);
    // 25 s of waiting: past Artery's handshake timeout with the seed (20 s), whose WARN goes too
    awaitSaid(worker, joining, 5, 60);
    assertEquals(
        List.of(),
        worker
            .linesWhere(
                line ->
                    line.contains(" WARN ")
                        && (line.contains("Connection refused")
                            || line.contains("HandshakeTimeoutException")))
            .stream()
            .map(NodeProcesses.Line::text)
            .toList(),
        "no WARN for the seed where nothing listens, in the "
            + worker.linesWhere(line -> line.contains(joining)).size()
            + " waiting lines so far");
    saysItAgainWithoutAWarnFlood(sequencer, noQueue);

    // and, once no queue node has been up for longer than a restart takes, the trap of a queue
    // node restarted with only its own address as seed; not before (an ordinary restart's lines)
    String ownCluster =
        "If one runs, it formed a cluster of its own (its 'is Up in the cluster' line names none"
            + " of this cluster's nodes): restart it with --seeds naming a node of this cluster"
            + " too, such as 127.0.0.1:"
            + sequencerPort;
    awaitSaid(sequencer, ownCluster, 1, 60);
    for (NodeProcesses.Line line : sequencer.linesWhere(text -> text.contains(noQueue))) {
      Matcher waited = Pattern.compile("is up for (\\d+) s").matcher(line.text());
      assertTrue(waited.find(), line.text());
      assertEquals(
          Integer.parseInt(waited.group(1)) >= 30,
          line.text().contains(ownCluster),
          "the hint from 30 s of waiting on: " + line.text());
    }
    assertEquals(
        0,
        sequencer.linesWhere(line -> line.contains("RESULT")).size(),
        "no result without a queue");

    // the lone stateful node names both cases once it has been alone for 30 s, not before; then its
    // waiting lines end with a short tail, not the whole hint every 5 s
    String noWorker = "none has announced itself to the queue yet";
    awaitSaid(lone, AloneHint.line(30), 1, 90);
    awaitSaid(lone, noWorker + "; the circuits are compiled on a worker" + AloneHint.TAIL, 2, 30);
    assertEquals(
        1,
        lone.linesWhere(line -> line.contains(AloneHint.LINE_START)).size(),
        "the whole hint once:\n" + lone.tail(20));
    List<NodeProcesses.Line> waits = lone.linesWhere(line -> line.contains(noWorker));
    assertTrue(
        waits.stream().anyMatch(line -> !line.text().contains(AloneHint.TAIL)),
        "not at once:\n" + lone.tail(20));
    for (NodeProcesses.Line line : waits) {
      Matcher waited = Pattern.compile("waiting for workers for (\\d+) s").matcher(line.text());
      if (waited.find() && Integer.parseInt(waited.group(1)) < 25) {
        assertFalse(line.text().contains(AloneHint.TAIL), line.text());
      }
    }

    // stopped while it waits, it leaves without saying it waits to be Up (as Leaving, Exiting)
    long stopped = System.currentTimeMillis();
    sequencer.process().toHandle().destroy(); // SIGTERM
    assertTrue(sequencer.awaitExit(60), "it stops on SIGTERM:\n" + sequencer.tail(20));
    long exitMillis = System.currentTimeMillis() - stopped;
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(20));
    // its shard region held the job's first tasks, with no queue node to take them: it stops at
    // once instead of waiting out its hand-off phase (10 s) and then saying so in a WARN
    assertEquals(
        List.of(),
        sequencer.linesWhere(line -> line.contains(" WARN ")).stream()
            .filter(line -> line.arrived() >= stopped)
            .map(NodeProcesses.Line::text)
            .toList(),
        "no WARN as it stops");
    assertTrue(exitMillis < 8_000, "out in " + exitMillis + " ms:\n" + sequencer.tail(20));
    System.out.printf(
        "LauncherWaitsIT: the sequencer-only node exited %d ms after SIGTERM%n", exitMillis);
    // its job (the appchain's, no --db-url) had not begun to prove: it says the job did not finish
    assertEquals(
        1,
        sequencer
            .linesWhere(
                line ->
                    line.contains("'s job did not finish: node ")
                        && line.contains("nothing of it was kept (no --db-url)"))
            .size(),
        sequencer.tail(20));
    assertEquals(
        List.of(),
        sequencer.linesWhere(line -> line.contains("waiting to be Up")).stream()
            .filter(line -> line.arrived() >= stopped)
            .toList(),
        sequencer.tail(20));

    // the lone node runs its job with --exit-when-done, whose exit code is the job's verdict:
    // stopped before that job ended, it keeps the signal's code (0 would tell a Kubernetes Job or
    // systemd that the job was done)
    lone.process().toHandle().destroy(); // SIGTERM
    assertTrue(lone.awaitExit(60), "it stops on SIGTERM:\n" + lone.tail(20));
    assertEquals(143, lone.process().exitValue(), lone.tail(20));
    assertEquals(
        1,
        lone.linesWhere(
                line ->
                    line.contains(
                        " left the cluster: stopped by SIGTERM before its job ended"
                            + " (--exit-when-done), exiting with the signal's code 143"))
            .size(),
        lone.tail(20));
    assertEquals(
        1,
        lone.linesWhere(line -> line.contains("'s job did not finish: node ")).size(),
        lone.tail(20));
  }
}
