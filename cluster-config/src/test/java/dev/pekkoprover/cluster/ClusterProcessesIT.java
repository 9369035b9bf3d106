package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 4, item 4: real node processes started from the launcher on loopback (one sequencer+queue,
 * two workers) prove blocks with the shipped configuration; one worker is killed with SIGKILL
 * mid-run and the run still ends with matching roots. Every process started here is gone at the
 * end, also when the test fails.
 */
class ClusterProcessesIT {

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("ClusterProcessesIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  @Test
  void threeProcessesProveBlocksAndSurviveAWorkerKilledWithSigkill() throws Exception {
    int seedPort = NodeProcesses.freePort();
    String seed = "127.0.0.1:" + seedPort;
    NodeProcesses.Node sequencerNode =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + seedPort,
            "--blocks",
            "12",
            "--txs",
            "16",
            "--batch",
            "3",
            "--proving-work",
            "20000",
            "--exit-when-done");
    processes.launch(
        "node", "--roles", "worker", "--port", "" + NodeProcesses.freePort(), "--seeds", seed);
    Process doomed =
        processes
            .launch(
                "node",
                "--roles",
                "worker",
                "--port",
                "" + NodeProcesses.freePort(),
                "--seeds",
                seed)
            .process();
    Process sequencer = sequencerNode.process();
    Queue<String> sequencerOut = sequencerNode.lines();

    // kill the second worker once blocks are being proven, well before the end
    assertTrue(
        sequencerNode.awaitLine(NodeProcesses::midRun, 120),
        "saw blocks being proven; output:\n" + String.join("\n", sequencerOut));
    doomed.destroyForcibly(); // SIGKILL: no leave, no goodbye
    assertTrue(doomed.waitFor(10, TimeUnit.SECONDS));

    assertTrue(
        sequencerNode.awaitExit(180), "the run ended; output:\n" + String.join("\n", sequencerOut));
    String output = String.join("\n", sequencerOut);
    assertEquals(0, sequencer.exitValue(), output);
    assertTrue(output.contains("RESULT OK"), output);
    assertTrue(output.contains("blocks            12"), output);
    // the killed worker's tasks were put back; in the rare case that it held none at the kill
    // (between a report
    // and its next task), the cluster still removed it and RESULT OK shows nothing was lost
    assertTrue(
        output.matches(
                "(?s).*put back, to go out again as dispatch \\d+: worker .* terminated \\(\\d+ of"
                    + " \\d+ attempts and [1-9]\\d* of \\d+ worker losses spent\\).*")
            || output.matches("(?s).*(is downing|downing worker node|removing unreachable node).*"),
        "the killed worker's tasks were put back:\n" + output);
  }
}
