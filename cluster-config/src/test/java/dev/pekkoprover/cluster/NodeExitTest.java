package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.FlowFailedException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;

/** The launcher's exit code for each way a node's actor system can end. */
class NodeExitTest {
  private static NodeExit.Outcome outcome(CoordinatedShutdown.Reason reason) {
    return NodeExit.outcome(
        Optional.ofNullable(reason), "127.0.0.1:2552", true, "stable-after = 7s");
  }

  @Test
  void aJobIsCutShortByTheStopWhenItHadNotEndedOrFailedWithoutTheLauncherStoppingTheNode() {
    CompletableFuture<String> running = new CompletableFuture<>();
    assertTrue(NodeExit.jobCutShort(running, false), "still running");
    assertTrue(NodeExit.jobCutShort(running, true), "still running, the launcher stopping");
    assertFalse(
        NodeExit.jobCutShort(CompletableFuture.completedFuture("ok"), false), "it had ended");
    CompletableFuture<String> failed =
        CompletableFuture.failedFuture(new IllegalStateException("flow failed"));
    // failed as its node began to stop: cut short; failed on its own: the launcher said so
    assertTrue(NodeExit.jobCutShort(failed, false), "failed as the node stopped");
    assertFalse(NodeExit.jobCutShort(failed, true), "failed on its own");
  }

  @Test
  void downedByTheClusterExitsWith3AndSaysSo() {
    NodeExit.Outcome downed = outcome(CoordinatedShutdown.clusterDowningReason());
    assertEquals(3, downed.code());
    assertEquals(
        true,
        downed.line().startsWith("node 127.0.0.1:2552 was downed by the cluster ("),
        downed.line());
    assertEquals(
        true,
        downed.line().endsWith(": exiting with code 3 so that a process supervisor restarts it"),
        downed.line());
  }

  /**
   * An end that stalled past Termination's bound halts with its code (a downed node's 3 s would
   * otherwise become the stalled phase's 10 s in Pekko's JVM hook), except when the JVM is exiting
   * already: after a signal or Pekko's fatal-error exit the hooks keep deciding the code (0, 255).
   */
  @Test
  void onlyAStalledEndThatIsNotAJvmExitHalts() {
    assertTrue(NodeExit.haltsAfter(false, Optional.of(CoordinatedShutdown.clusterDowningReason())));
    assertTrue(NodeExit.haltsAfter(false, Optional.of(NodeExit.NoSequencer.INSTANCE)));
    assertTrue(NodeExit.haltsAfter(false, Optional.empty()));
    assertFalse(NodeExit.haltsAfter(false, Optional.of(CoordinatedShutdown.jvmExitReason())));
    assertFalse(NodeExit.haltsAfter(true, Optional.of(CoordinatedShutdown.clusterDowningReason())));
    assertFalse(NodeExit.haltsAfter(true, Optional.empty()));
  }

  @Test
  void aLeaveAskedForByTheOperatorExitsWith0() {
    assertEquals(0, outcome(CoordinatedShutdown.jvmExitReason()).code());
    assertEquals(0, outcome(CoordinatedShutdown.clusterLeavingReason()).code());
  }

  @Test
  void aNodeStoppedBeforeItEverJoinedDoesNotSayItLeft() {
    NodeExit.Outcome never =
        NodeExit.outcome(
            Optional.of(CoordinatedShutdown.jvmExitReason()), "127.0.0.1:2556", false, "");
    assertEquals(0, never.code());
    assertEquals(
        "node 127.0.0.1:2556 stopped by a signal before it ever joined the cluster, exiting with code 0",
        never.line());
    assertTrue(
        outcome(CoordinatedShutdown.jvmExitReason()).line().contains("left the cluster"),
        "one that was Up did leave");
  }

  @Test
  void leavingForWantOfASequencerExitsWith4AndSaysSo() {
    NodeExit.Outcome noSequencer = outcome(NodeExit.NoSequencer.INSTANCE);
    assertEquals(4, noSequencer.code());
    assertEquals(
        "node 127.0.0.1:2552 left the cluster: no sequencer node was Up and reachable "
            + "(--exit-without-sequencer): exiting with code 4 so that a process supervisor decides "
            + "what next",
        noSequencer.line());
  }

  /**
   * A node the cluster refused for its settings (Pekko's join check: ours of the downing settings,
   * or Pekko's own) exits with 2 (a restart with the same settings is refused again) and its line
   * names its own downing settings and the log lines that name the one that differs.
   */
  @Test
  void aNodeRefusedForItsSettingsSaysWhichAndExitsWith2() {
    NodeExit.Outcome refused =
        NodeExit.outcome(
            Optional.of(CoordinatedShutdown.incompatibleConfigurationDetectedReason()),
            "127.0.0.1:2552",
            false,
            "active-strategy = keep-majority, stable-after = 25s");
    assertEquals(2, refused.code());
    assertEquals(
        "node 127.0.0.1:2552 was refused by the cluster: its settings differ from the cluster's in"
            + " what every node must agree on, such as how it downs nodes (this node's:"
            + " active-strategy = keep-majority, stable-after = 25s); Pekko's line above ('sent back"
            + " incompatible settings') or the seed node's WARN ('Found incompatible settings')"
            + " names the setting: exiting with code 2; start it again with the cluster's settings",
        refused.line());
  }

  @Test
  void anyOtherTerminationExitsWith2() {
    assertEquals(2, outcome(CoordinatedShutdown.actorSystemTerminateReason()).code());
    assertEquals(2, outcome(CoordinatedShutdown.incompatibleConfigurationDetectedReason()).code());
    assertEquals(2, outcome(null).code());
  }

  /**
   * A plugin's job that threw (a user's trial: it joined a flow that failed) exits with 1 and says
   * so, not with the line of Pekko's exit after a fatal error.
   */
  @Test
  void aPluginsJobThatFailedExitsWith1AndSaysSo() {
    NodeExit.Outcome failed = NodeExit.jobFailed("127.0.0.1:2651", "sum-of-squares", true);
    assertEquals(1, failed.code());
    assertEquals(
        "node 127.0.0.1:2651 left the cluster: plugin sum-of-squares's job failed (its error is "
            + "logged above): exiting with code 1",
        failed.line());
    // a node whose seeds never let it in does not say it left a cluster
    assertEquals(
        "node 127.0.0.1:2651 stopped before it ever joined the cluster: plugin sum-of-squares's job"
            + " failed (its error is logged above): exiting with code 1",
        NodeExit.jobFailed("127.0.0.1:2651", "sum-of-squares", false).line());
  }

  @Test
  void aJobsFailureIsSaidByTheFirstMessageThatIsNotAWrappersOwn() {
    Throwable joined =
        new CompletionException(
            new FlowFailedException("sum", "task t-1 of type SquareSumTask failed: boom"));
    assertEquals(
        "plugin sum-of-squares's job failed: flow sum failed: task t-1 of type SquareSumTask "
            + "failed: boom; node 127.0.0.1:2651 leaves the cluster and exits with code 1",
        NodeExit.jobFailureLine("127.0.0.1:2651", "sum-of-squares", joined, true));
    assertEquals(
        "plugin sum-of-squares's job failed: flow sum failed: task t-1 of type SquareSumTask "
            + "failed: boom; node 127.0.0.1:2651 stops (it never joined a cluster) and exits with"
            + " code 1",
        NodeExit.jobFailureLine("127.0.0.1:2651", "sum-of-squares", joined, false));
    assertFalse(NodeExit.worthATrace(joined), "a failed flow's trace is the framework's");

    Throwable own =
        new ExecutionException(new RuntimeException(new IllegalStateException("no accounts")));
    assertEquals("java.lang.IllegalStateException: no accounts", NodeExit.failureMessage(own));
    assertTrue(NodeExit.worthATrace(own), "a plugin's own bug keeps its trace");
    Throwable wrappedWithWords = new IllegalStateException("block 3", new ArithmeticException());
    assertEquals(
        "java.lang.IllegalStateException: block 3", NodeExit.failureMessage(wrappedWithWords));
    assertEquals(
        "java.lang.NullPointerException", NodeExit.failureMessage(new NullPointerException()));
  }

  /** A node stopped before its job ended says so, and whether the work survives it. */
  @Test
  void aJobStoppedBeforeItsEndSaysSoAndWhetherItsWorkWasKept() {
    assertEquals(
        "plugin appchain's job did not finish: node 127.0.0.1:2551 stopped before its end; what"
            + " its flows stored stays in the database: the same command resumes from it",
        NodeExit.jobUnfinishedLine("127.0.0.1:2551", "appchain", true));
    assertEquals(
        "plugin appchain's job did not finish: node 127.0.0.1:2551 stopped before its end; nothing"
            + " of it was kept (no --db-url): a new run starts over",
        NodeExit.jobUnfinishedLine("127.0.0.1:2551", "appchain", false));
  }

  /**
   * A --exit-when-done job cut short by a signal: the node keeps the signal's code and says why it
   * is not 0.
   */
  @Test
  void aJobCutShortBySignalKeepsTheSignalsCode() {
    assertEquals(
        "node 127.0.0.1:2551 left the cluster: stopped by SIGTERM before its job ended"
            + " (--exit-when-done), exiting with the signal's code 143, not 0, so that a supervisor"
            + " does not take the job for finished",
        NodeExit.jobCutShortLine("127.0.0.1:2551", "SIGTERM", 143, true));
    assertEquals(
        "node 127.0.0.1:2551 stopped before it ever joined a cluster, by SIGINT before its job"
            + " ended (--exit-when-done), exiting with the signal's code 130, not 0, so that a"
            + " supervisor does not take the job for finished",
        NodeExit.jobCutShortLine("127.0.0.1:2551", "SIGINT", 130, false));
  }
}
