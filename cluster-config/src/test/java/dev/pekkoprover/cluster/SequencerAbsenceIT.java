package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 15 (item 5): worker nodes whose cluster has no sequencer node say so in one WARN line once
 * {@code prover.worker.sequencer-absent-after} has passed (3 s here, by a system property), then
 * nothing until a sequencer node is Up, which one INFO line says; one started with {@code
 * --exit-without-sequencer} leaves and exits with code 4 instead. Real launcher processes with the
 * shipped configuration: a queue node, two worker nodes, and later a sequencer node that leaves
 * (SIGTERM) and is started again. Every process is killed at the end.
 */
class SequencerAbsenceIT {
  private static final String ABSENT = "no sequencer node Up and reachable for ";
  private static final List<String> FAST = List.of("-Dprover.worker.sequencer-absent-after=3s");

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("SequencerAbsenceIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  private static void awaitSaid(NodeProcesses.Node node, String says, long seconds)
      throws InterruptedException {
    assertTrue(
        node.awaitLine(line -> line.contains(says), seconds),
        "said '" + says + "':\n" + node.tail(30));
  }

  private static long count(NodeProcesses.Node node, String says) {
    return node.linesWhere(line -> line.contains(says)).size();
  }

  @Test
  void aWorkerSaysOnceThatNoSequencerIsUpAndWhenOneIsBackOrWithTheFlagExitsWith4()
      throws Exception {
    long start = System.nanoTime();
    int queuePort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + queuePort;
    processes.launch("node", "--roles", "queue", "--port", "" + queuePort);
    int waitingPort = NodeProcesses.freePort();
    NodeProcesses.Node waiting =
        processes.launch(
            FAST,
            List.of("node", "--roles", "worker", "--port", "" + waitingPort, "--seeds", seeds));
    NodeProcesses.Node leaving =
        processes.launch(
            FAST,
            List.of(
                "node",
                "--roles",
                "worker",
                "--port",
                "" + NodeProcesses.freePort(),
                "--seeds",
                seeds,
                "--exit-without-sequencer"));

    // never a sequencer: one WARN line 3 s after the node is Up
    awaitSaid(waiting, ABSENT, 60);
    String line = waiting.linesWhere(text -> text.contains(ABSENT)).get(0).text();
    assertTrue(line.contains(" WARN "), line);
    assertTrue(line.contains("(since 20"), "since an ISO instant: " + line);
    assertTrue(
        line.contains("last seen: never seen): this node keeps waiting"), "what it does: " + line);

    // the flag: the same line saying it exits, then it leaves and exits with 4
    assertTrue(
        leaving.awaitExit(60),
        "the node with --exit-without-sequencer exited:\n" + leaving.tail(30));
    assertEquals(4, leaving.process().exitValue(), leaving.tail(30));
    assertEquals(
        1,
        leaving
            .linesWhere(
                text ->
                    text.contains(ABSENT)
                        && text.contains(
                            "this node leaves the cluster and exits with code 4 "
                                + "(--exit-without-sequencer)"))
            .size(),
        leaving.output());
    assertTrue(
        leaving.output().contains("(--exit-without-sequencer): exiting with code 4"),
        leaving.tail(10));

    // a sequencer node comes: one INFO line, and the absence was said once only meanwhile
    int sequencerPort = NodeProcesses.freePort();
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer",
            "--port",
            "" + sequencerPort,
            "--seeds",
            seeds,
            "--blocks",
            "1",
            "--txs",
            "1");
    String node = "127.0.0.1:" + sequencerPort;
    awaitSaid(waiting, "sequencer node " + node + " is Up after ", 60);
    assertEquals(1, count(waiting, ABSENT), "said once, then quiet:\n" + waiting.tail(30));

    // it leaves (SIGTERM, once its launcher is done starting, it is Up and has seen the worker
    // node): named as the last one seen
    awaitSaid(sequencer, " started with roles ", 30);
    awaitSaid(sequencer, " is Up in the cluster of ", 30);
    awaitSaid(sequencer, "worker node 127.0.0.1:" + waitingPort + " is Up", 30);
    // SIGTERM through the handle: Process.destroy() would also close our end of its output
    sequencer.process().toHandle().destroy();
    assertTrue(sequencer.awaitExit(30), "the sequencer node left:\n" + sequencer.tail(20));
    assertEquals(
        List.of(),
        sequencer.linesWhere(
            text -> text.contains("worker node ") && text.contains(" left the cluster")),
        "the worker nodes stayed: the sequencer node, which left, does not say they left");
    awaitSaid(waiting, "last seen: " + node + "): this node keeps waiting", 30);

    // started again with the same command: back
    processes.relaunch(sequencer);
    awaitSaid(waiting, "sequencer node " + node + " is back after ", 60);
    assertEquals(2, count(waiting, ABSENT), waiting.tail(30));
    assertTrue(waiting.process().isAlive(), "it kept waiting:\n" + waiting.tail(20));
    System.out.printf(
        "SequencerAbsenceIT took %d s%n",
        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
  }
}
