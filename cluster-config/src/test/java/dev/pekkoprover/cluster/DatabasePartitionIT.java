package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.regex.Matcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sequencer's PostgreSQL vanishes from the network in the middle of proving, with real
 * processes and the shipped configuration: between the node and the database a {@link TcpProxy}
 * that, partitioned, drops every byte (no refusal, no reset: a cut cable, a firewall, a database
 * host that froze), then heals once the node has noticed ({@code /status} names the store). Its
 * journal's connections caught in the partition never answer again; the node must give them up,
 * open new ones once the network is back and finish: RESULT OK, the direct computation's root,
 * every task computed exactly once.
 *
 * <p>Needs a PostgreSQL database ({@link TestDatabase#postgresOrSkip}); skipped without.
 */
class DatabasePartitionIT {
  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("DatabasePartitionIT"));
  private TcpProxy proxy;

  @AfterEach
  void killEverything() throws Exception {
    processes.close();
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void aDatabaseCutOffMidRunWithoutAWordIsNoticedAndTheRunEndsOnceItIsBack() throws Exception {
    TestDatabase database = TestDatabase.postgresOrSkip();
    database.wipe();
    URI direct = URI.create(database.url().substring("jdbc:".length()));
    proxy = new TcpProxy(direct.getHost(), direct.getPort() < 0 ? 5432 : direct.getPort());
    String viaProxy =
        "jdbc:postgresql://127.0.0.1:"
            + proxy.port()
            + direct.getRawPath()
            + (direct.getRawQuery() == null ? "" : "?" + direct.getRawQuery());

    int[] ports = {NodeProcesses.freePort(), NodeProcesses.freePort(), NodeProcesses.freePort()};
    int http = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
    NodeProcesses.Node sequencer =
        processes.launch(DatabaseDrill.sequencerCommand(ports[0], seeds, http, viaProxy, database));
    processes.launch("node", "--roles", "worker", "--port", "" + ports[1], "--seeds", seeds);
    processes.launch("node", "--roles", "worker", "--port", "" + ports[2], "--seeds", seeds);
    String base = "http://127.0.0.1:" + http;

    assertTrue(
        sequencer.awaitLine(
            line ->
                line.startsWith("proving:")
                    && DurableClusterIT.tasksDone(line) >= DurableClusterIT.TASKS / 4,
            300),
        sequencer.output());
    proxy.partition();
    // until the node has noticed (the shipped write-timeout, 10 s): the connections the partition
    // caught are beyond saving by then, however short it is, as the proxy never lets them speak
    // again
    DatabaseDrill.awaitStoreProblem(base, "PostgreSQL " + viaProxy);
    proxy.heal();
    long healed = System.nanoTime();

    assertTrue(
        sequencer.awaitExit(300),
        "the run ended once the network was back:\n" + sequencer.tail(40));
    System.out.printf(
        "the run ended %d s after the network was back%n",
        Duration.ofNanos(System.nanoTime() - healed).toSeconds());
    String output = sequencer.output();
    assertEquals(0, sequencer.process().exitValue(), output);
    assertTrue(output.contains("RESULT OK"), output);
    Matcher roots = DurableClusterIT.ROOTS.matcher(output);
    assertTrue(roots.find(), output);
    assertEquals(roots.group(2), roots.group(1), "the proven root is the direct computation's");
    assertEquals(
        DurableClusterIT.TASKS,
        DurableClusterIT.tasksComputed(output),
        "every task computed exactly once, none lost in the partition:\n" + output);
  }
}
