package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 9: real node processes from the launcher with the shipped configuration. A worker node
 * whose only stateful node dies downs itself and exits with code 3 and one line saying why; SIGTERM
 * leaves gracefully and exits 0; a stateful node killed with SIGKILL and restarted with the same
 * command (every node given the same --seeds, the stateful node first) rejoins the running cluster.
 * Every process started here is gone at the end.
 */
class NodeFailuresIT {
  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("NodeFailuresIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  private static boolean upWith(String line, int members) {
    return line.contains("is Up in the cluster of " + members + " member(s)");
  }

  @Test
  void aWorkerNodeWhoseStatefulNodeDiesExitsWithCode3AndSaysWhy() throws Exception {
    int statefulPort = NodeProcesses.freePort();
    int workerPort = NodeProcesses.freePort();
    NodeProcesses.Node stateful =
        processes.launch("node", "--roles", "queue", "--port", "" + statefulPort);
    NodeProcesses.Node worker =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + workerPort,
            "--seeds",
            "127.0.0.1:" + statefulPort);
    assertTrue(
        worker.awaitLine(line -> upWith(line, 2), 60), "the worker joined:\n" + worker.output());

    long killed = System.nanoTime();
    stateful.process().destroyForcibly(); // SIGKILL
    assertTrue(stateful.awaitExit(10));

    // failure detection (about 3.5 s) + stable-after (7 s) + the node's shutdown: about 13 s; 45 s
    // on a busy host
    assertTrue(worker.awaitExit(45), "the worker exited:\n" + worker.output());
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
    assertEquals(3, worker.process().exitValue(), worker.output());
    String expected = "node 127.0.0.1:" + workerPort + " was downed by the cluster (";
    assertEquals(
        1,
        worker.lines().stream()
            .filter(
                line ->
                    line.startsWith(expected)
                        && line.endsWith(
                            ": exiting with code 3 so that a process supervisor restarts it"))
            .count(),
        "one line says why:\n" + worker.output());
    System.out.printf("worker exited with 3 %d s after the stateful node was killed%n", seconds);
  }

  @Test
  void sigtermLeavesTheClusterAndExitsWith0() throws Exception {
    int statefulPort = NodeProcesses.freePort();
    NodeProcesses.Node stateful =
        processes.launch("node", "--roles", "queue", "--port", "" + statefulPort);
    NodeProcesses.Node worker =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + NodeProcesses.freePort(),
            "--seeds",
            "127.0.0.1:" + statefulPort);
    assertTrue(
        worker.awaitLine(line -> upWith(line, 2), 60), "the worker joined:\n" + worker.output());
    // both launchers done starting (a SIGTERM during start-up, before the launcher's hook, exits
    // 143)
    assertTrue(worker.awaitLine(line -> line.contains(" up with roles "), 30), worker.output());
    assertTrue(stateful.awaitLine(line -> line.contains(" up with roles "), 30), stateful.output());

    worker.process().destroy(); // SIGTERM: CoordinatedShutdown runs from the JVM's shutdown hook
    assertTrue(worker.awaitExit(30), "the worker exited:\n" + worker.output());
    assertEquals(0, worker.process().exitValue(), worker.output());
    stateful.process().destroy();
    assertTrue(stateful.awaitExit(30), "the stateful node exited:\n" + stateful.output());
    assertEquals(0, stateful.process().exitValue(), stateful.output());
  }

  @Test
  void aStatefulNodeKilledAndRestartedWithTheSameCommandRejoinsTheRunningCluster()
      throws Exception {
    int statefulPort = NodeProcesses.freePort();
    int workerPort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + statefulPort + ",127.0.0.1:" + workerPort;
    String[] statefulCommand = {
      "node", "--roles", "queue", "--port", "" + statefulPort, "--seeds", seeds
    };
    NodeProcesses.Node stateful = processes.launch(statefulCommand);
    NodeProcesses.Node worker =
        processes.launch("node", "--roles", "worker", "--port", "" + workerPort, "--seeds", seeds);
    assertTrue(
        worker.awaitLine(line -> upWith(line, 2), 60), "the worker joined:\n" + worker.output());

    stateful.process().destroyForcibly(); // SIGKILL
    assertTrue(stateful.awaitExit(10));
    long killed = System.nanoTime();
    NodeProcesses.Node restarted = processes.launch(statefulCommand);

    // it joins the worker's cluster (2 members) rather than forming one of its own: the first seed
    // asks the other
    // seeds before joining itself, and the worker answers
    assertTrue(
        restarted.awaitLine(
            line -> upWith(line, 2) && line.contains("127.0.0.1:" + workerPort), 60),
        "the restarted node rejoined:\n"
            + restarted.output()
            + "\n--- worker:\n"
            + worker.output());
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
    assertTrue(
        worker.awaitLine(line -> line.contains("a node with role queue is up"), 10)
            || worker.lines().stream()
                .noneMatch(line -> line.contains("no node with role queue is up")),
        "the worker's wait ended:\n" + worker.output());
    assertTrue(
        worker.process().isAlive(), "the worker stayed, in the same process:\n" + worker.output());
    System.out.printf(
        "restarted stateful node Up in the running cluster %d s after the kill%n", seconds);
  }
}
