package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A trial's finding, with real launcher processes and the shipped configuration: a sequencer node
 * restarted with the same command while its worker node ran formed a cluster of its own (2 of 5
 * restarts on a busy host), because it is the first of its seeds and the worker node did not answer
 * its join within {@code pekko.cluster.seed-node-timeout} (5 s). The worker node stayed Up without
 * a queue node and nothing was proven until an operator restarted it. Here the worker node is
 * paused (SIGSTOP) while the sequencer node starts again, which makes that island every time; once
 * resumed, the worker node finds its seed Up in another cluster ({@link IslandWatch}), says so in
 * one WARN line and exits with code 3; the test, as its supervisor, starts it again, it joins the
 * sequencer node's cluster, and the job ends {@code RESULT OK}. Every process is killed at the end.
 */
class IslandIT {
  private final NodeProcesses processes = new NodeProcesses(NodeProcesses.logDirectory("IslandIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  @Test
  void aWorkerNodeLeftOnAnIslandByARestartedFirstSeedRejoinsItThroughARestart() throws Exception {
    int sequencerPort = NodeProcesses.freePort();
    int workerPort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + sequencerPort + ",127.0.0.1:" + workerPort;
    List<String> sequencerCommand =
        List.of(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + sequencerPort,
            "--seeds",
            seeds,
            "--blocks",
            "1",
            "--exit-when-done");
    NodeProcesses.Node first = processes.launch(sequencerCommand.toArray(String[]::new));
    NodeProcesses.Node worker =
        processes.launch("node", "--roles", "worker", "--port", "" + workerPort, "--seeds", seeds);
    assertTrue(first.awaitExit(180), "the first run ends:\n" + first.tail(30));
    assertEquals(0, first.process().exitValue(), first.tail(30));

    // the worker node waits in its cluster of one, for longer than leave-island-after (10 s); its
    // line every 5 s says how long ("for 6 s", "for 11 s" or "for 10 s": the ticks' phase varies)
    Pattern waiting = Pattern.compile("no node with role queue is up for (\\d+) s");
    assertTrue(
        worker.awaitLine(
            line -> {
              Matcher waited = waiting.matcher(line);
              return waited.find() && Integer.parseInt(waited.group(1)) >= 10;
            },
            60),
        worker.tail(20));
    NodeProcesses.pause(worker.process());
    NodeProcesses.Node second;
    try {
      second = processes.launch(sequencerCommand.toArray(String[]::new));
      assertTrue(
          second.awaitLine(line -> line.contains(" is Up in the cluster of 1 member(s)"), 120),
          "the restarted sequencer node forms a cluster of its own:\n" + second.tail(20));
    } finally {
      NodeProcesses.resume(worker.process());
    }

    assertTrue(worker.awaitExit(60), "the worker node leaves its island:\n" + worker.tail(20));
    assertEquals(3, worker.process().exitValue(), worker.tail(20));
    String seed = "127.0.0.1:" + sequencerPort;
    assertEquals(
        1,
        worker
            .linesWhere(
                line ->
                    line.contains(" WARN ")
                        && line.contains("has been in a cluster without a stateful node for ")
                        && line.contains(
                            ", while its seed " + seed + " is Up in a cluster of its own"))
            .size(),
        worker.tail(20));
    assertEquals(
        1,
        worker
            .linesWhere(
                line ->
                    line.contains(
                        "left its cluster, which had no stateful node, for the one its seed "
                            + seed
                            + " runs: exiting with code 3"))
            .size(),
        worker.tail(20));

    // its supervisor starts it again: it joins the sequencer node's cluster, and the job ends
    NodeProcesses.Node again = processes.relaunch(worker);
    assertTrue(
        again.awaitLine(line -> line.contains(" is Up in the cluster of 2 member(s)"), 120),
        again.tail(20));
    assertTrue(second.awaitExit(180), "the job ends:\n" + second.tail(30));
    assertEquals(0, second.process().exitValue(), second.tail(30));
    assertEquals(
        1, second.linesWhere(line -> line.startsWith("RESULT OK")).size(), second.tail(30));
  }

  /**
   * The same island made by the other side: three stateful nodes, the sequencer node (the first of
   * every node's seeds) killed and started again with the same command while the two queue nodes
   * are paused, so that its join goes unanswered and it forms a cluster of one (a trial met it in 1
   * of 4 restarts on a loaded host; its sequencer started a second run on the same database). Once
   * they resume, it finds its seeds in a cluster with two stateful nodes, says so in one WARN line
   * and exits with code 3; started again, it joins them. They never leave.
   */
  @Test
  void aStatefulNodeRestartedIntoAnIslandBesideTwoStatefulNodesLeavesAndRejoins() throws Exception {
    int aPort = NodeProcesses.freePort();
    int bPort = NodeProcesses.freePort();
    int cPort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + aPort + ",127.0.0.1:" + bPort + ",127.0.0.1:" + cPort;
    String[] aCommand = {
      "node", "--roles", "sequencer,queue", "--port", "" + aPort, "--seeds", seeds, "--blocks", "1"
    };
    NodeProcesses.Node a = processes.launch(aCommand);
    NodeProcesses.Node b =
        processes.launch("node", "--roles", "queue", "--port", "" + bPort, "--seeds", seeds);
    NodeProcesses.Node c =
        processes.launch("node", "--roles", "queue", "--port", "" + cPort, "--seeds", seeds);
    for (NodeProcesses.Node node : List.of(a, b, c)) {
      assertTrue(
          node.awaitLine(line -> line.contains(" is Up in the cluster of "), 120), node.tail(20));
    }
    a.process().destroyForcibly(); // SIGKILL
    assertTrue(a.awaitExit(30));
    String aAddress = "pekko://prover@127.0.0.1:" + aPort;
    // its removal, as Pekko's association says it (the UID quarantined once the member is gone)
    assertTrue(
        b.awaitLine(
            line ->
                line.contains("Association to [" + aAddress + "]")
                    && line.contains("irrecoverably"),
            60),
        "B and C down and remove the killed node:\n" + b.tail(20));

    NodeProcesses.pause(b.process());
    NodeProcesses.pause(c.process());
    NodeProcesses.Node island;
    try {
      island = processes.launch(aCommand);
      assertTrue(
          island.awaitLine(line -> line.contains(" is Up in the cluster of 1 member(s)"), 120),
          "the restarted node forms a cluster of its own:\n" + island.tail(20));
    } finally {
      NodeProcesses.resume(b.process());
      NodeProcesses.resume(c.process());
    }

    assertTrue(island.awaitExit(60), "it leaves its island:\n" + island.tail(20));
    assertEquals(3, island.process().exitValue(), island.tail(20));
    assertEquals(
        1,
        island
            .linesWhere(
                line ->
                    line.contains(" WARN ")
                        && line.contains("is in a cluster with 1 stateful node(s), while its seed")
                        && line.contains("is Up in a cluster of its own with 2 "))
            .size(),
        island.tail(20));
    assertEquals(
        1,
        island
            .linesWhere(
                line ->
                    line.contains(
                        "left its cluster, which had fewer stateful nodes than the one its seed"))
            .size(),
        island.tail(20));

    // its supervisor starts it again: it joins B and C
    NodeProcesses.Node again = processes.relaunch(island);
    assertTrue(
        again.awaitLine(line -> line.contains(" is Up in the cluster of 3 member(s)"), 120),
        again.tail(20));
    assertTrue(b.process().isAlive() && c.process().isAlive(), "the larger side stays");
  }
}
