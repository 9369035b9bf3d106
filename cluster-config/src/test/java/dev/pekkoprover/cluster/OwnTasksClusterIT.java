package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, item 2: a task catalog of your own, built in a module of its own ({@code
 * example-plugin}, depending on the library only), runs across two real processes with the shipped
 * launcher, as the README's "Run your own tasks on a cluster" says: {@code java -cp
 * prover-node.jar:example-plugin.jar dev.pekkoprover.cluster.NodeLauncher node --plugin ...}, a
 * {@code sequencer,queue} node without workers and a worker node, over mutual TLS. The sequencer's
 * job prints the sum the workers proved; the test computes it again and checks that every task ran
 * on the worker node.
 */
class OwnTasksClusterIT {
  private static final long UP_TO = 20_000;
  private static final int TASKS = 8;

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("OwnTasksClusterIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /**
   * JVM options: the launcher's jar and the example plugin's on the class path, the job's settings.
   */
  private static List<String> withPlugin(long upTo, int tasks) {
    Path pluginJar =
        Path.of(
            System.getProperty(
                "example.plugin.jar", "../example-plugin/target/example-plugin.jar"));
    assertTrue(
        Files.exists(pluginJar),
        "the example plugin's jar is built by its module's package: " + pluginJar);
    String launcherJar =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar"))
            .toAbsolutePath()
            .toString();
    return List.of(
        "-cp",
        launcherJar + File.pathSeparator + pluginJar.toAbsolutePath(),
        "-Dexample.sum-of-squares.up-to=" + upTo,
        "-Dexample.sum-of-squares.tasks=" + tasks);
  }

  @Test
  void aPluginSettingOutOfRangeIsOneLineBeforeTheNodeJoins() throws Exception {
    NodeProcesses.Node sequencer =
        processes.launch(
            withPlugin(3_000_000, TASKS),
            List.of(
                "node",
                "--plugin",
                "sum-of-squares",
                "--roles",
                "sequencer,queue",
                "--port",
                "" + NodeProcesses.freePort()));
    assertTrue(sequencer.awaitExit(60), sequencer.tail(20));
    assertEquals(NodeLauncher.USAGE_EXIT, sequencer.process().exitValue(), sequencer.tail(20));
    assertTrue(
        sequencer
            .output()
            .contains(
                "node refuses to start: plugin sum-of-squares: example.sum-of-squares needs 1 <="
                    + " tasks <= up-to <= 2000000 (the sum must fit a long), were tasks = "
                    + TASKS
                    + " and up-to = 3000000"),
        sequencer.output());
    assertFalse(
        sequencer.output().contains(" started with roles "),
        "it never started:\n" + sequencer.output());
  }

  @Test
  void aPluginOfYourOwnRunsOnACluster() throws Exception {
    List<String> classPath = withPlugin(UP_TO, TASKS);
    int port = NodeProcesses.freePort();
    int workerPort = NodeProcesses.freePort();
    NodeProcesses.Node sequencer =
        processes.launch(
            classPath,
            List.of(
                "node",
                "--plugin",
                "sum-of-squares",
                "--roles",
                "sequencer,queue",
                "--port",
                "" + port,
                "--exit-when-done"));
    // alone, its job says what it waits for (a plugin's job used to wait in silence)
    String waiting =
        "plugin sum-of-squares's job: waiting for workers: no Ready worker serves SquareSumTask ("
            + TASKS
            + " pending); start a worker that serves it";
    assertTrue(
        sequencer.awaitLine(line -> line.equals(waiting), 60),
        "the wait said:\n" + sequencer.tail(20));
    // and the sequencer's own line, the one a node assembled in code gets too, once the oldest
    // task has waited 30 s (its fleet view comes every prover.autoscale.interval, 10 s)
    Pattern unserved =
        Pattern.compile(
            "INFO .* - no worker serves task type SquareSumTask \\("
                + TASKS
                + " pending, the oldest for (\\d+) s\\): its tasks, and the flows that pushed them,"
                + " wait until a worker that serves it joins .*; start one$");
    assertTrue(
        sequencer.awaitLine(line -> unserved.matcher(line).find(), 60),
        "the sequencer's line:\n" + sequencer.tail(20));
    Matcher waited =
        unserved.matcher(sequencer.linesWhere(line -> unserved.matcher(line).find()).get(0).text());
    assertTrue(waited.find());
    assertTrue(Integer.parseInt(waited.group(1)) >= 30, waited.group());
    NodeProcesses.Node worker =
        processes.launch(
            classPath,
            List.of(
                "node",
                "--plugin",
                "dev.pekkoprover.example.SumOfSquaresPlugin",
                "--roles",
                "worker",
                "--port",
                "" + workerPort,
                "--seeds",
                "127.0.0.1:" + port));

    assertTrue(
        sequencer.awaitExit(120),
        "the job ended:\n" + sequencer.tail(40) + "\nworker:\n" + worker.tail(20));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(40));
    long direct = 0;
    for (long i = 1; i <= UP_TO; i++) {
      direct += i * i;
    }
    Matcher result =
        Pattern.compile(
                "sum of squares 1\\.\\.(\\d+) = (\\d+) \\(direct: \\d+\\), (\\d+) task\\(s\\) ran "
                    + "on worker\\(s\\) (\\S+)")
            .matcher(sequencer.output());
    assertTrue(result.find(), "the job's result line:\n" + sequencer.tail(40));
    assertEquals(UP_TO, Long.parseLong(result.group(1)));
    assertEquals(direct, Long.parseLong(result.group(2)), "the sum the workers proved");
    assertEquals(TASKS, Integer.parseInt(result.group(3)));
    assertEquals(
        "127.0.0.1:" + workerPort + "-w1", result.group(4), "every task ran on the worker node");
    assertTrue(sequencer.output().contains("RESULT OK"), sequencer.tail(40));
    // and once, when the worker came, that the wait is over
    assertEquals(
        1,
        sequencer
            .linesWhere(
                line ->
                    line.matches(
                        "plugin sum-of-squares's job: no longer waiting \\(waited \\d+ s\\)"))
            .size(),
        sequencer.output());
    assertTrue(worker.output().contains("plugin sum-of-squares"), worker.tail(20));
  }
}
