package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, "What it must show" item 2: the only stateful node ({@code sequencer,queue}) is paused
 * with SIGSTOP for 30 s in the middle of a run, then resumed with SIGCONT. The test acts as the
 * workers' process supervisor: a worker process that exits with a non-zero code is started again
 * with the same command (systemd's {@code Restart=on-failure}). The run completes with {@code
 * RESULT OK} and exit code 0 (were the sequencer's node to exit non-zero, it would be restarted
 * with the same command and that run would have to complete), and every worker process that exited
 * said in exactly one line that it was downed and exited with code 3: no worker goes on against a
 * sequencer it lost without saying so. Every node's output is written to {@code
 * target/it-logs/SequencerPauseIT}.
 */
class SequencerPauseIT {
  private static final int WORKERS = 3;
  private static final int BLOCKS = 12;
  private static final long PAUSE_MILLIS = 30_000;

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("SequencerPauseIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /**
   * Up to 150 s for the sequencer node's process to exit, meanwhile the workers' supervisor ({@link
   * NodeProcesses#restartExited}) every 100 ms.
   */
  private void superviseUntilExit(
      NodeProcesses.Node sequencer, NodeProcesses.Node[] workers, List<NodeProcesses.Exit> exits) {
    NodeProcesses.polling(
            "the sequencer node's process has exited",
            Duration.ofSeconds(150),
            Duration.ofMillis(100))
        .pollInSameThread() // the supervising restarts processes: in the test's thread
        .until(
            () -> {
              processes.restartExited(workers, exits);
              return !sequencer.process().isAlive();
            });
  }

  @Test
  void theSequencerNodePausedFor30SecondsMidRunTheRunCompletesAndEveryDownedWorkerSaysSo()
      throws Exception {
    long testStart = System.nanoTime();
    int sequencerPort = NodeProcesses.freePort();
    int[] workerPorts = new int[WORKERS];
    List<String> seedList = new ArrayList<>(List.of("127.0.0.1:" + sequencerPort));
    for (int i = 0; i < WORKERS; i++) {
      workerPorts[i] = NodeProcesses.freePort();
      seedList.add("127.0.0.1:" + workerPorts[i]);
    }
    String seeds = String.join(",", seedList);
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + sequencerPort,
            "--seeds",
            seeds,
            "--blocks",
            "" + BLOCKS,
            "--txs",
            "16",
            "--batch",
            "3",
            "--proving-work",
            "300000",
            "--exit-when-done");
    NodeProcesses.Node[] workers = new NodeProcesses.Node[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
      workers[i] =
          processes.launch(
              "node", "--roles", "worker", "--port", "" + workerPorts[i], "--seeds", seeds);
    }
    List<NodeProcesses.Exit> exits = new ArrayList<>();

    assertTrue(
        sequencer.awaitLine(NodeProcesses::midRun, 120),
        "blocks are being proven:\n" + sequencer.tail(40));
    long pausedAt = System.currentTimeMillis();
    NodeProcesses.pause(sequencer.process());
    System.out.println(
        "sequencer node paused (SIGSTOP) at "
            + sequencer.lines().stream()
                .filter(NodeProcesses::midRun)
                .reduce((a, b) -> b)
                .orElse(""));
    // the scenario's pause: 30 s, meanwhile the supervisor restarts worker processes that exit
    // non-zero
    while (System.currentTimeMillis() - pausedAt < PAUSE_MILLIS) {
      processes.restartExited(workers, exits);
      // not a wait for a condition: the pause lasts 30 s whatever happens, and meanwhile the
      // supervisor looks for exited workers every 100 ms
      Thread.sleep(100);
    }
    long resumedAt = System.currentTimeMillis();
    NodeProcesses.resume(sequencer.process());
    System.out.printf(
        "sequencer node resumed (SIGCONT) after %.1f s; %d worker exit(s) during the pause%n",
        (resumedAt - pausedAt) / 1000.0, exits.size());

    superviseUntilExit(sequencer, workers, exits);
    assertTrue(sequencer.awaitExit(10));
    boolean sequencerRestarted = sequencer.process().exitValue() != 0;
    if (sequencerRestarted) {
      System.out.printf(
          "the sequencer node exited with %d %.1f s after the resume: restarting it with the same "
              + "command%n",
          sequencer.process().exitValue(), (System.currentTimeMillis() - resumedAt) / 1000.0);
      sequencer = processes.relaunch(sequencer);
      superviseUntilExit(sequencer, workers, exits);
    }
    assertTrue(sequencer.awaitExit(1), "the run ended:\n" + sequencer.tail(60));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    // every worker process that exited was downed and said so in one line
    for (NodeProcesses.Exit exit : exits) {
      String port = exit.node().arg("--port");
      assertEquals(
          3,
          exit.code(),
          "worker node " + port + " exited with 3 (downed):\n" + exit.node().tail(30));
      NodeProcesses.assertDownedOnce(exit.node(), "127.0.0.1:" + port);
    }
    processes.assertNoInstabilityDowning();
    if (!sequencerRestarted) {
      NodeProcesses.assertNotDowned(sequencer, "the sequencer's node");
    }

    // what happened, and when
    for (NodeProcesses.Exit exit : exits) {
      System.out.printf(
          "worker node %s exited %d at %.1f s after the pause began%n",
          exit.node().arg("--port"), exit.code(), (exit.at() - pausedAt) / 1000.0);
    }
    long resumedSequencerStart = resumedAt;
    NodeProcesses.Node finalSequencer = sequencer;
    String firstRegistration =
        finalSequencer.linesWhere(text -> text.contains(" registered (task ")).stream()
            .filter(line -> line.millis() > resumedSequencerStart)
            .map(line -> String.format("%.1f s", (line.millis() - resumedSequencerStart) / 1000.0))
            .findFirst()
            .orElse("none");
    long summaryAt =
        finalSequencer.linesWhere(text -> text.equals("== summary ==")).stream()
            .mapToLong(NodeProcesses.Line::millis)
            .findFirst()
            .orElse(System.currentTimeMillis());
    System.out.printf(
        "SequencerPauseIT: %s; first worker registration after the resume %s; summary %.1f s after "
            + "the resume; %d worker process exit(s), all with code 3; test took %.0f s%n",
        sequencerRestarted
            ? "the sequencer node exited non-zero and its restart completed the run"
            : "the paused sequencer node completed the run itself",
        firstRegistration,
        (summaryAt - resumedAt) / 1000.0,
        exits.size(),
        (System.nanoTime() - testStart) / 1e9);
  }
}
