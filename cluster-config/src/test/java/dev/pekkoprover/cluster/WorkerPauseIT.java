package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A worker node paused (SIGSTOP: a long GC, a frozen VM, a laptop lid) in the middle of a run, with
 * real processes and the shipped configuration: one {@code sequencer,queue} node and two worker
 * nodes. The stateful node puts the paused worker's tasks back within 5 s of the pause (the failure
 * detector's verdict, before any downing), downs the node within 10 s (README's table: 6-7 s), and
 * the run goes on with the other worker. Resumed (SIGCONT) once it was downed, the paused process
 * finds itself out of the cluster, says in one line that it was downed and exits with code 3 within
 * 15 s (README: about 2.3 s); started again with the same command, as its supervisor would, it
 * joins as a new incarnation and registers before the run ends. The run ends {@code RESULT OK} with
 * the direct root and each task of the chain counted once; the sequencer's node is never downed.
 *
 * <p>Every node's output is written to {@code target/it-logs/WorkerPauseIT}.
 */
class WorkerPauseIT {
  /**
   * Enough that the run outlasts the pause, the exit and the restart's join and registration (about
   * 15 s after the pause on this 2-core machine).
   */
  private static final int BLOCKS = 24;

  private static final long PUT_BACK_WITHIN_MILLIS = 5_000;
  private static final long DOWNED_WITHIN_SECONDS = 10;
  private static final long EXIT_AFTER_RESUME_SECONDS = 15;

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("WorkerPauseIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  @Test
  void aWorkerNodePausedMidRunHasItsTasksPutBackIsDownedAndOnResumeExitsWith3AndComesBack()
      throws Exception {
    int sequencerPort = NodeProcesses.freePort();
    int[] workerPorts = {NodeProcesses.freePort(), NodeProcesses.freePort()};
    String seeds =
        "127.0.0.1:"
            + sequencerPort
            + ",127.0.0.1:"
            + workerPorts[0]
            + ",127.0.0.1:"
            + workerPorts[1];
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
    List<NodeProcesses.Node> workers = new ArrayList<>();
    for (int port : workerPorts) {
      workers.add(
          processes.launch("node", "--roles", "worker", "--port", "" + port, "--seeds", seeds));
    }
    // mid-run with two thirds of the blocks left, so that the paused worker holds tasks and the
    // run outlasts its return
    assertTrue(
        sequencer.awaitLine(line -> NodeProcesses.midRun(line, 2 * BLOCKS / 3), 180),
        "blocks are being proven:\n" + sequencer.tail(40));

    NodeProcesses.Node paused = workers.get(0);
    String hostPort = "127.0.0.1:" + workerPorts[0];
    String workerId = hostPort + "-w1";
    long pausedAt = System.currentTimeMillis();
    NodeProcesses.pause(paused.process());
    String downing = "downing worker node " + hostPort + ":";
    assertTrue(
        sequencer.awaitLine(line -> line.contains(downing), DOWNED_WITHIN_SECONDS + 5),
        "the paused worker node is downed:\n" + sequencer.tail(40));
    long downedAt = sequencer.linesWhere(text -> text.contains(downing)).get(0).millis() - pausedAt;
    long resumedAt = System.currentTimeMillis();
    NodeProcesses.resume(paused.process());

    assertTrue(
        paused.awaitExit(EXIT_AFTER_RESUME_SECONDS),
        "the resumed worker node exits:\n" + paused.tail(30));
    long exitedAfterResume = System.currentTimeMillis() - resumedAt;
    assertEquals(3, paused.process().exitValue(), paused.tail(30));
    NodeProcesses.assertDownedOnce(paused, hostPort);
    NodeProcesses.Node restarted = processes.relaunch(paused); // the supervisor
    long restartedAt = System.currentTimeMillis();
    // the restart joins as a new incarnation and registers in the run, before it ends
    String registeredLine = "Worker " + workerId + " registered (task";
    LongSupplier registeredAt =
        () ->
            sequencer.linesWhere(text -> text.contains(registeredLine)).stream()
                .mapToLong(NodeProcesses.Line::millis)
                .filter(at -> at >= restartedAt)
                .findFirst()
                .orElse(-1);
    NodeProcesses.polling(
            "the restart's registration or the run's end",
            Duration.ofSeconds(120),
            Duration.ofMillis(100))
        .until(() -> registeredAt.getAsLong() >= 0 || !sequencer.process().isAlive());
    long registeredAfter = registeredAt.getAsLong() - restartedAt;
    assertTrue(
        registeredAt.getAsLong() >= 0,
        "the restarted worker registered before the run ended:\n"
            + restarted.tail(30)
            + "\n"
            + sequencer.tail(30));

    assertTrue(sequencer.awaitExit(300), "the run ended:\n" + sequencer.tail(60));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    // its tasks went back while it was paused, each within 5 s of the pause
    List<Long> putBacks =
        sequencer
            .linesWhere(text -> text.contains("put back") && text.contains("worker " + workerId))
            .stream()
            .map(line -> line.millis() - pausedAt)
            .filter(after -> after >= 0 && after < resumedAt - pausedAt)
            .toList();
    assertFalse(putBacks.isEmpty(), "the paused worker held tasks:\n" + sequencer.output());
    assertTrue(
        putBacks.stream().allMatch(after -> after <= PUT_BACK_WITHIN_MILLIS),
        "put back within " + PUT_BACK_WITHIN_MILLIS + " ms of the pause: " + putBacks);
    assertTrue(
        downedAt <= DOWNED_WITHIN_SECONDS * 1000,
        "downed within " + DOWNED_WITHIN_SECONDS + " s of the pause: " + downedAt + " ms");

    processes.assertNoInstabilityDowning();
    NodeProcesses.assertNotDowned(sequencer, "the sequencer's node");
    NodeProcesses.assertNotDowned(workers.get(1), "the other worker node");
    System.out.printf(
        "WorkerPauseIT: put back %s ms after the pause, downed at %d ms, exited with 3 %d ms after"
            + " the resume; the restart registered %d ms after it started%n",
        putBacks, downedAt, exitedAfterResume, registeredAfter);
  }
}
