package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.StartupPlan;
import java.io.File;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A plugin's job that throws on the shipped launcher (a user's trial: its job joined a flow that
 * failed): the node says so at once in one ERROR line that names the plugin and the flow's failure,
 * leaves the cluster and exits with code 1, and nothing reads as a fatal error. The launcher used
 * to wait 10 s, print picocli's stack trace, and end with the line of Pekko's exit after a fatal
 * error.
 */
class PluginJobFailureIT {
  /** The line the job prints just before its flow fails. */
  static final String FAILS_NOW = "failing-job: its flow fails now";

  /** What the flow's logic throws. */
  static final String REASON = "this flow fails on purpose";

  /**
   * A plugin whose job runs one flow whose logic throws, and joins it: no task types, nothing to
   * compile, so the node needs no workers.
   */
  public static class FailingJobPlugin implements ProverPlugin {
    @Override
    public String name() {
      return "failing-job";
    }

    @Override
    public TaskCatalog catalog(Config config) {
      return TaskCatalog.of();
    }

    @Override
    public StartupPlan<?, ?> startupPlan(Config config) {
      return StartupPlan.fixed("none");
    }

    @Override
    public Job job(Config config) {
      return (node, out) -> {
        node.ready().toCompletableFuture().join();
        out.println(FAILS_NOW);
        node.run(
                "failing",
                scope -> {
                  throw new IllegalStateException(REASON);
                })
            .toCompletableFuture()
            .join();
        return new Outcome(true, "never\n");
      };
    }
  }

  /**
   * A plugin whose job throws at once, before its node has joined a cluster; otherwise {@link
   * FailingJobPlugin}.
   */
  public static final class ThrowsAtOnceJobPlugin extends FailingJobPlugin {
    @Override
    public String name() {
      return "throws-at-once";
    }

    @Override
    public Job job(Config config) {
      return (node, out) -> {
        throw new IllegalStateException(REASON);
      };
    }
  }

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("PluginJobFailureIT"));

  @AfterEach
  void killEverything() {
    processes.close();
  }

  @Test
  void aJobThatThrowsIsOneErrorLineThenTheNodeLeavesAndExitsWith1() throws Exception {
    String classPath =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar")).toAbsolutePath()
            + File.pathSeparator
            + Path.of("target/test-classes").toAbsolutePath();
    int port = NodeProcesses.freePort();
    NodeProcesses.Node node =
        processes.launch(
            List.of("-cp", classPath),
            List.of(
                "node",
                "--plugin",
                FailingJobPlugin.class.getName(),
                "--roles",
                "sequencer,queue",
                "--port",
                "" + port));

    assertTrue(node.awaitExit(90), "the node exited:\n" + node.tail(40));
    assertEquals(NodeExit.JOB_FAILED, node.process().exitValue(), node.output());
    List<NodeProcesses.Line> errors =
        node.linesWhere(line -> line.contains(" ERROR ") && line.contains("'s job failed"));
    assertEquals(1, errors.size(), "one ERROR line for the job:\n" + node.output());
    String error = errors.get(0).text();
    assertTrue(
        error.contains("plugin failing-job's job failed: flow failing")
            && error.contains(REASON)
            && error.endsWith(
                "; node 127.0.0.1:" + port + " leaves the cluster and exits with code 1"),
        error);
    List<NodeProcesses.Line> failsNow = node.linesWhere(FAILS_NOW::equals);
    assertEquals(1, failsNow.size(), node.output());
    long saidAfter = errors.get(0).millis() - failsNow.get(0).millis();
    assertTrue(saidAfter < 5_000, "said at once, not after a wait: " + saidAfter + " ms");
    assertEquals(
        List.of(NodeExit.jobFailed("127.0.0.1:" + port, "failing-job", true).line()),
        node.lines().stream().filter(line -> line.contains("left the cluster")).toList(),
        node.output());
    assertTrue(
        node.lines().stream().noneMatch(line -> line.contains("exit from within")),
        "no fatal error's line:\n" + node.output());
    assertTrue(
        node.lines().stream().noneMatch(line -> line.startsWith("\tat ")),
        "a failed flow's message says it all, no stack trace:\n" + node.output());
  }

  /**
   * A job that throws before its node is Up (its seed does not answer) is the job's own failure:
   * the node exits with 1. The launcher took it for the node going away, as a node not Up is while
   * it leaves, and waited for a shutdown that never came.
   */
  @Test
  void aJobThatThrowsBeforeItsNodeJoinedExitsWith1() throws Exception {
    String classPath =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar")).toAbsolutePath()
            + File.pathSeparator
            + Path.of("target/test-classes").toAbsolutePath();
    int port = NodeProcesses.freePort();
    int nobody = NodeProcesses.freePort(); // no process listens here
    NodeProcesses.Node node =
        processes.launch(
            List.of("-cp", classPath),
            List.of(
                "node",
                "--plugin",
                ThrowsAtOnceJobPlugin.class.getName(),
                "--roles",
                "sequencer,queue",
                "--port",
                "" + port,
                "--seeds",
                "127.0.0.1:" + nobody));

    assertTrue(node.awaitExit(60), "the node exited:\n" + node.tail(40));
    assertEquals(NodeExit.JOB_FAILED, node.process().exitValue(), node.output());
    assertEquals(
        1,
        node.linesWhere(
                line ->
                    line.contains(" ERROR ")
                        && line.contains("plugin throws-at-once's job failed")
                        && line.contains(REASON)
                        && line.endsWith(
                            "; node 127.0.0.1:"
                                + port
                                + " stops (it never joined a cluster) and exits with code 1"))
            .size(),
        node.output());
    assertEquals(
        List.of(NodeExit.jobFailed("127.0.0.1:" + port, "throws-at-once", false).line()),
        node.lines().stream().filter(line -> line.contains("joined the cluster")).toList(),
        "its last line does not say it left a cluster it never joined:\n" + node.output());
  }
}
