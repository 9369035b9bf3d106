package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 15, "what it must show" 1 and 2, with real processes and the shipped configuration (mutual
 * TLS): a service node (sequencer and queue, {@code --service}), two worker nodes, and the load
 * generator ({@code prover-node load}) at a fixed rate for a bounded time, every tenth transaction
 * invalid; the workers start once the service has produced blocks without them. Every accepted
 * transaction ends in a proven block, the proven state root is the direct computation over the
 * accepted transactions (the generator's record), and every invalid one was refused with its reason
 * (the generator checks each and exits 1 otherwise). The second test kills the service node with
 * SIGKILL in the middle of the load and starts it again on the same PostgreSQL database: no
 * accepted transaction is lost and the roots match. It snapshots every 20 events (the shipped
 * 10,000 would take the test an hour to reach), so that the restarted service reads a snapshot and
 * the events after it, not the journal from genesis. The first test also stops a worker node and
 * then the service node (SIGTERM): the service node says when each worker node is Up and when the
 * stopped one left, as a batch job's node does, and stops without a stack trace.
 */
class AppchainServiceIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("AppchainServiceIT"));

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /** The service node's command: blocks every 500 ms of at most 16 transactions, batches of 2. */
  private static List<String> serviceCommand(int port, String seeds, int httpPort, String... more) {
    List<String> command =
        new ArrayList<>(
            List.of(
                "node",
                "--roles",
                "sequencer,queue",
                "--port",
                "" + port,
                "--seeds",
                seeds,
                "--service",
                "--http-port",
                "" + httpPort,
                "--txs",
                "16",
                "--batch",
                "2",
                "--block-interval",
                "500ms",
                "--proving-work",
                "2000"));
    command.addAll(List.of(more));
    return command;
  }

  /**
   * The service's {@code /appchain/chain}, asked again for up to 30 s while it does not answer 200:
   * a service writing to its journal on a busy machine may answer 503 after its request timeout, or
   * not take a connection within the client's 3 s.
   */
  private static JsonNode chain(int httpPort) {
    Http.Answer answer = answered("http://127.0.0.1:" + httpPort + "/appchain/chain");
    assertEquals(200, answer.status(), answer.body());
    try {
      return JSON.readTree(answer.body());
    } catch (IOException e) {
      throw new AssertionError(answer.body(), e);
    }
  }

  /** The first answer 200 or 404 of {@code url}, asked every 200 ms for up to 30 s. */
  private static Http.Answer answered(String url) {
    return NodeProcesses.polling(
            "GET " + url + " answers 200 or 404", Duration.ofSeconds(30), Duration.ofMillis(200))
        .ignoreExceptionsInstanceOf(AssertionError.class)
        .until(() -> Http.get(url), answer -> answer.status() == 200 || answer.status() == 404);
  }

  /**
   * The state root after {@code transactions} on the service's genesis (seed 42, 200 accounts),
   * computed directly: each sender's transactions in nonce order (the final state does not depend
   * on how senders interleave when every transfer is covered).
   */
  private static String directRoot(List<SignedTransfer> transactions) {
    Chain chain =
        Chain.create(
            Workload.generate(42, 200, 0, 1, 0).genesis(),
            AppchainSettings.fromConfig(ConfigFactory.load()));
    List<SignedTransfer> ordered = new ArrayList<>(transactions);
    ordered.sort(
        Comparator.comparing((SignedTransfer tx) -> tx.transfer().from())
            .thenComparingLong(tx -> tx.transfer().nonce()));
    for (SignedTransfer transaction : ordered) {
      assertTrue(
          chain.submit(transaction).accepted(),
          "the direct chain refuses recorded transaction " + transaction.hash());
    }
    while (chain.produceBlock().isPresent()) {
      // every transaction into a block
    }
    return chain.stateRoot();
  }

  /** Every recorded transaction is proven, the chain holds exactly them, and the roots match. */
  private static void assertAllProven(int httpPort, Path record) throws IOException {
    List<SignedTransfer> accepted = LoadRecord.read(record);
    assertTrue(accepted.size() > 50, "the generator had " + accepted.size() + " accepted");
    JsonNode chain = chain(httpPort);
    assertEquals(accepted.size(), chain.get("accepted").asLong(), chain.toString());
    assertEquals(0, chain.get("pending").asInt(), chain.toString());
    assertEquals(
        chain.get("height").asLong(), chain.get("provenHeight").asLong(), chain.toString());
    String direct = directRoot(accepted);
    assertEquals(direct, chain.get("lastBatch").get("stateRoot").asText(), chain.toString());
    assertEquals(direct, chain.get("stateRoot").asText());
    for (SignedTransfer transaction : accepted) {
      Http.Answer status =
          answered("http://127.0.0.1:" + httpPort + "/appchain/transactions/" + transaction.hash());
      assertTrue(status.body().contains("\"proven\""), transaction.hash() + ": " + status.body());
    }
  }

  @Test
  void everyAcceptedTransactionEndsInAProvenBlockWithTheDirectRoot() throws Exception {
    int[] ports = {NodeProcesses.freePort(), NodeProcesses.freePort(), NodeProcesses.freePort()};
    int httpPort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + ports[0];
    // the workers start only once the service has produced blocks without them: the chain takes
    // transactions while no worker is there, and proves them once workers come
    NodeProcesses.Node service =
        processes.launch(List.of(), serviceCommand(ports[0], seeds, httpPort));
    assertTrue(
        service.awaitLine(line -> line.startsWith("appchain service: transactions to POST"), 180),
        service.output());

    Path record = Files.createTempFile("accepted", ".jsonl");
    NodeProcesses.Node load =
        processes.launch(
            "load",
            "--node",
            "127.0.0.1:" + httpPort,
            "--rate",
            "25",
            "--duration",
            "20s",
            "--invalid-every",
            "10",
            "--record",
            record.toString(),
            "--wait-proven",
            "120s");
    assertTrue(
        service.awaitLine(
            line -> line.matches("appchain service: height [1-9][0-9]*, proven height 0, .*"), 60),
        "blocks produced before any worker:\n" + service.output());
    processes.launch("node", "--roles", "worker", "--port", "" + ports[1], "--seeds", seeds);
    NodeProcesses.Node stopped =
        processes.launch("node", "--roles", "worker", "--port", "" + ports[2], "--seeds", seeds);
    assertTrue(load.awaitExit(200), "the load generator ended:\n" + load.output());
    assertEquals(0, load.process().exitValue(), load.output());
    assertTrue(load.output().contains("load:"), load.output());
    assertAllProven(httpPort, record);

    // the worker nodes' lines on a service node, whose job runs until the node stops: all along
    // (they used to come only during its start-up wait: a worker node that left said nothing)
    String stoppedNode = "127.0.0.1:" + ports[2];
    assertTrue(
        service.awaitLine(line -> line.startsWith("worker node " + stoppedNode + " is Up: "), 1),
        service.output());
    stopped.process().toHandle().destroy(); // SIGTERM: the worker node leaves the cluster
    assertTrue(stopped.awaitExit(60), "the worker node exited:\n" + stopped.tail(20));
    assertTrue(
        service.awaitLine(
            line ->
                line.equals("worker node " + stoppedNode + " left the cluster: 1 worker node Up"),
            30),
        service.output());

    // its own stop: no stack trace (the lines were started at the shutdown, in an actor system
    // that takes no new actor then: IllegalStateException)
    int before = service.lines().size();
    service.process().toHandle().destroy(); // SIGTERM (Process.destroy would close our end too)
    assertTrue(service.awaitExit(60), "the service node exited:\n" + service.tail(20));
    assertEquals(0, service.process().exitValue(), service.tail(30));
    List<String> atStop = new ArrayList<>(service.lines());
    String afterStop = String.join("\n", atStop.subList(before, atStop.size()));
    assertTrue(
        afterStop.contains(
            "node 127.0.0.1:"
                + ports[0]
                + " left the cluster: stopped by a signal, exiting with code 0"),
        "its output at the stop was read:\n" + afterStop);
    assertTrue(
        atStop.stream()
            .skip(before)
            .noneMatch(line -> line.contains("Exception") || line.matches("\\s+at .*")),
        "a stack trace at the stop:\n" + afterStop);
  }

  @Test
  void theServiceKilledUnderLoadAndStartedAgainLosesNoAcceptedTransaction() throws Exception {
    TestDatabase database = TestDatabase.postgresOrSkip();
    database.wipe();
    String url = database.url();
    String user = database.user();
    String password = database.password();

    int[] ports = {NodeProcesses.freePort(), NodeProcesses.freePort(), NodeProcesses.freePort()};
    int httpPort = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
    List<String> command =
        serviceCommand(
            ports[0],
            seeds,
            httpPort,
            "--db-url",
            url,
            "--db-user",
            user,
            "--db-password",
            password);
    // a snapshot every 20 events instead of 10,000, so that the restart reads one (from
    // PostgreSQL) and only the events after it, as a service that ran long enough does
    List<String> snapshotOften = List.of("-Dprover.appchain-service.snapshot-every=20");
    NodeProcesses.Node service = processes.launch(snapshotOften, command);
    NodeProcesses.Node[] workers = {
      processes.launch("node", "--roles", "worker", "--port", "" + ports[1], "--seeds", seeds),
      processes.launch("node", "--roles", "worker", "--port", "" + ports[2], "--seeds", seeds)
    };
    assertTrue(
        service.awaitLine(line -> line.startsWith("appchain service: transactions to POST"), 180),
        service.output());

    Path record = Files.createTempFile("accepted", ".jsonl");
    NodeProcesses.Node load =
        processes.launch(
            "load",
            "--node",
            "127.0.0.1:" + httpPort,
            "--rate",
            "25",
            "--duration",
            "40s",
            "--invalid-every",
            "10",
            "--record",
            record.toString(),
            "--wait-proven",
            "240s");
    // kill -9 once the chain has accepted 150 transactions and proven some of them
    JsonNode before =
        NodeProcesses.polling(
                "the service got going: 150 transactions accepted and a block proven",
                Duration.ofSeconds(120),
                Duration.ofMillis(200))
            .until(
                () -> {
                  assertTrue(load.process().isAlive(), load.output());
                  return chain(httpPort);
                },
                chain ->
                    chain.get("accepted").asLong() >= 150
                        && chain.get("provenHeight").asLong() >= 1);
    service.process().destroyForcibly();
    assertTrue(service.awaitExit(30));
    System.out.println("killed the service node at " + before);

    NodeProcesses.Node second = processes.launch(snapshotOften, command);
    List<NodeProcesses.Exit> workerExits = new ArrayList<>();
    NodeProcesses.polling(
            "the load generator's process has exited",
            Duration.ofSeconds(400),
            Duration.ofMillis(100))
        .pollInSameThread() // the supervising below restarts processes: in the test's thread
        .until(
            () -> {
              if (!load.process().isAlive()) {
                return true;
              }
              assertTrue(second.process().isAlive(), second.output());
              processes.restartExited(workers, workerExits);
              return false;
            });
    for (NodeProcesses.Exit exit : workerExits) {
      assertEquals(3, exit.code(), "a worker exits only when downed:\n" + exit.node().tail(30));
    }
    assertEquals(0, load.process().exitValue(), load.output());
    JsonNode after = chain(httpPort);
    assertTrue(after.get("accepted").asLong() > before.get("accepted").asLong(), after.toString());
    assertTrue(
        second.output().contains("appchain service: height"),
        "the restarted service says where it goes on from:\n" + second.output());
    assertTrue(
        second.output().contains("(from a snapshot at proven height "),
        "the restarted service read a snapshot:\n" + second.output());
    assertAllProven(httpPort, record);

    // stopped with SIGTERM, it says where its chain is kept (it said "appchain service stopped")
    second.process().toHandle().destroy();
    assertTrue(second.awaitExit(60), second.tail(20));
    assertEquals(0, second.process().exitValue(), second.tail(30));
    assertTrue(
        second.awaitLine(
            line ->
                line.equals(
                    "appchain service stopped: every transaction it accepted is in its journal,"
                        + " PostgreSQL "
                        + url
                        + "; the same command goes on from it (so does a standby sequencer"
                        + " node)"),
            10),
        second.tail(30));
  }
}
