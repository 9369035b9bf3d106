package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 9: real node processes from the launcher with the shipped configuration. A worker node
 * whose only stateful node dies downs itself and exits with code 3 and one line saying why; SIGTERM
 * leaves gracefully and exits 0; a stateful node killed with SIGKILL and restarted with the same
 * command (every node given the same --seeds, the stateful node first) rejoins the running cluster;
 * a fatal error on one of Pekko's threads ends the process with a non-zero code. Every process
 * started here is gone at the end.
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
    NodeProcesses.assertDownedOnce(worker, "127.0.0.1:" + workerPort);
    System.out.printf("worker exited with 3 %d s after the stateful node was killed%n", seconds);
  }

  /**
   * A worker node started with another split-brain resolver {@code stable-after} than the cluster's
   * (an operator's override on one host) is refused when it joins: it never becomes a member, it
   * exits with code 2 and one line naming its settings, the seed node's WARN names the setting that
   * differs, and the seed node runs on, alone in its cluster.
   */
  @Test
  void aNodeWithOtherSplitBrainResolverSettingsIsRefusedAndSaysWhy() throws Exception {
    int statefulPort = NodeProcesses.freePort();
    int workerPort = NodeProcesses.freePort();
    NodeProcesses.Node stateful =
        processes.launch("node", "--roles", "queue", "--port", "" + statefulPort);
    assertTrue(
        stateful.awaitLine(line -> upWith(line, 1), 60),
        "the stateful node is Up:\n" + stateful.output());
    NodeProcesses.Node worker =
        processes.launch(
            List.of("-Dpekko.cluster.split-brain-resolver.stable-after=25s"),
            List.of(
                "node",
                "--roles",
                "worker",
                "--port",
                "" + workerPort,
                "--seeds",
                "127.0.0.1:" + statefulPort));

    assertTrue(worker.awaitExit(60), "the refused node exited:\n" + worker.output());
    assertEquals(2, worker.process().exitValue(), worker.output());
    assertEquals(
        1,
        worker.lines().stream()
            .filter(
                line ->
                    line.startsWith(
                            "node 127.0.0.1:"
                                + workerPort
                                + " was refused by the cluster: its settings differ from the"
                                + " cluster's in what every node must agree on, such as how it"
                                + " downs nodes (this node's: active-strategy = keep-majority,"
                                + " stable-after = 25s,")
                        && line.endsWith("start it again with the cluster's settings"))
            .count(),
        "one line says why:\n" + worker.output());
    assertTrue(
        worker.lines().stream().noneMatch(line -> line.contains("is Up in the cluster")),
        "the refused node never became a member:\n" + worker.output());
    assertTrue(
        stateful.awaitLine(
            line ->
                line.contains(
                        "Found incompatible settings when [pekko://prover@127.0.0.1:" + workerPort)
                    && line.contains(
                        "pekko.cluster.split-brain-resolver.stable-after is 25s on the other node"
                            + " and 7s on this one"),
            10),
        "the seed node names the setting that differs:\n" + stateful.tail(20));
    assertTrue(stateful.process().isAlive(), "the seed node runs on:\n" + stateful.tail(20));
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
    assertTrue(
        worker.awaitLine(line -> line.contains(" started with roles "), 30), worker.output());
    assertTrue(
        stateful.awaitLine(line -> line.contains(" started with roles "), 30), stateful.output());

    worker.process().destroy(); // SIGTERM: CoordinatedShutdown runs from the JVM's shutdown hook
    assertTrue(worker.awaitExit(30), "the worker exited:\n" + worker.output());
    assertEquals(0, worker.process().exitValue(), worker.output());
    stateful.process().destroy();
    assertTrue(stateful.awaitExit(30), "the stateful node exited:\n" + stateful.output());
    assertEquals(0, stateful.process().exitValue(), stateful.output());
  }

  /**
   * An OutOfMemoryError on a Pekko thread ({@link FatalErrorDrill}) makes Pekko call {@code
   * System.exit(-1)}; the JVM's shutdown runs the same hooks as SIGTERM's, and the launcher's hook
   * used to turn that exit into 0, so a supervisor restarting on failure left the node down. It
   * keeps its code now, and one line says why.
   */
  @Test
  void aFatalErrorOnAPekkoThreadExitsNonZeroSoThatASupervisorRestartsTheNode() throws Exception {
    Path trigger = Files.createTempDirectory("fatal-error-drill").resolve("now");
    String classPath =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar")).toAbsolutePath()
            + File.pathSeparator
            + Path.of("target/test-classes").toAbsolutePath();
    int port = NodeProcesses.freePort();
    NodeProcesses.Node node =
        processes.launch(
            List.of(
                "-cp",
                classPath,
                "-Dpekko.extensions.0=" + FatalErrorDrill.class.getName(),
                "-D" + FatalErrorDrill.TRIGGER + "=" + trigger),
            List.of("node", "--roles", "queue", "--port", "" + port));
    // the launcher is done starting: its exit is set up
    assertTrue(node.awaitLine(line -> line.contains(" started with roles "), 60), node.output());

    Files.createFile(trigger);
    assertTrue(node.awaitExit(60), "the node exited:\n" + node.output());
    Files.delete(trigger);
    Files.delete(trigger.getParent());
    assertTrue(
        node.output().contains("shutting down JVM since 'pekko.jvm-exit-on-fatal-error'"),
        "Pekko's fatal error line:\n" + node.output());
    assertEquals(255, node.process().exitValue(), node.output());
    assertEquals(
        List.of(SignalWatch.exitFromWithinLine("node 127.0.0.1:" + port + " left the cluster")),
        node.lines().stream()
            .filter(line -> line.contains(" was told to exit from within"))
            .toList(),
        node.output());
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
