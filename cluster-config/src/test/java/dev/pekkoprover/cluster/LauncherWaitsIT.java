package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
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

  @Test
  void aWorkerNodeWhoseSeedIsNotRunningSaysSoEveryFewSecondsWithoutAWarnFlood() throws Exception {
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
    String waiting = "waiting to join cluster 'prover' through seeds [127.0.0.1:" + nobody + "]";
    awaitSaid(worker, waiting, 1, 60);
    assertTrue(
        worker
            .output()
            .contains("Likely causes: no seed is running or --seeds has a wrong address"),
        worker.tail(20));
    int before = warnings(worker).size();
    awaitSaid(
        worker, waiting, 3,
        60); // two more periods: at least 10 s of retrying against the missing seed
    int during = warnings(worker).size() - before;
    assertTrue(
        during <= 3,
        "a few WARN lines at most while it waits 10 s or more, not one per retry; got "
            + during
            + ":\n"
            + worker.tail(40));
    assertTrue(
        worker.process().isAlive(), "it keeps waiting rather than giving up:\n" + worker.tail(20));
  }

  @Test
  void aSequencerNodeWithoutAQueueNodeSaysWhatToStart() throws Exception {
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer",
            "--port",
            "" + NodeProcesses.freePort(),
            "--blocks",
            "1");
    String waiting = "no node with role queue is up for ";
    awaitSaid(sequencer, waiting, 1, 60);
    assertTrue(
        sequencer
            .linesWhere(line -> line.contains(waiting))
            .get(0)
            .text()
            .contains("this node's workers and flows wait; start one with --roles queue"),
        sequencer.tail(20));
    int before = warnings(sequencer).size();
    awaitSaid(sequencer, waiting, 3, 60);
    int during = warnings(sequencer).size() - before;
    assertTrue(
        during <= 3,
        "a few WARN lines at most while it waits 10 s or more, not one per retry; got "
            + during
            + ":\n"
            + sequencer.tail(40));
    assertEquals(
        0,
        sequencer.linesWhere(line -> line.contains("RESULT")).size(),
        "no result without a queue");
    assertTrue(sequencer.process().isAlive(), sequencer.tail(20));
  }
}
