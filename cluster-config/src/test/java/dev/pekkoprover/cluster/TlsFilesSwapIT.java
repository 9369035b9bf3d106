package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.HttpsIdentity;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A renewal gone wrong on a running node, with real processes and the shipped configuration (a
 * trial's finding): another node's {@code tls.key} copied over a running worker's. Pekko's engine
 * used to take the files as they were, so every new connection of that worker failed with a bare
 * handshake alert, and when a healthy worker restarted, the two could not reach each other and the
 * cluster downed the healthy one (exit 3). Now the worker checks changed files before use: it says
 * so in one ERROR line, in its {@code /status} problems and in {@code prover_tls_files_unusable},
 * and goes on with the files it read before. The restarted healthy worker joins and works, no node
 * is downed, and once the worker's files are right again it says so. Logs in {@code
 * target/it-logs/TlsFilesSwapIT}.
 */
class TlsFilesSwapIT {
  private static final Pattern PROVEN = Pattern.compile("^proving: blocks (\\d+)/");

  /** The series only a node with TLS exports; the alert rules read them (AlertRulesTest). */
  static final List<String> TLS_SERIES =
      List.of("prover_tls_certificate_expiry_timestamp_seconds", "prover_tls_files_unusable");

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("TlsFilesSwapIT"));

  @TempDir Path scratch;

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  private static void replace(Path file, Path from) throws Exception {
    Path beside = file.resolveSibling(file.getFileName() + ".new");
    Files.copy(from, beside, StandardCopyOption.REPLACE_EXISTING);
    Files.move(beside, file, StandardCopyOption.ATOMIC_MOVE);
  }

  @Test
  void anotherNodesKeyCopiedOverARunningNodesIsNotUsedAndNoHealthyNodeIsDowned() throws Exception {
    // the worker under test gets its own copy of the test key set's node files
    Path own = scratch.resolve("w3");
    Files.createDirectories(own);
    for (String file : List.of("tls.key", "tls.crt", "ca.crt")) {
      Files.copy(NodeProcesses.nodeTlsDir().resolve(file), own.resolve(file));
    }
    Path strangers = scratch.resolve("other-keys");
    ClusterKeys.makeKeySet(strangers, NodeLauncher.SYSTEM, 1, 1);

    int port = NodeProcesses.freePort();
    String seed = "127.0.0.1:" + port;
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + port,
            // long enough for the whole test on any machine; the test ends it
            "--blocks",
            "2000",
            "--txs",
            "16",
            "--batch",
            "3",
            "--proving-work",
            "20000");
    NodeProcesses.Node healthy = processes.launchWorker(seed);
    int w3Http = NodeProcesses.freePort();
    NodeProcesses.Node swapped =
        processes.launch(
            "node",
            "--roles",
            "worker",
            "--port",
            "" + NodeProcesses.freePort(),
            "--http-port",
            "" + w3Http,
            "--seeds",
            seed,
            "--tls",
            own.toString(),
            "--http-tls");
    for (NodeProcesses.Node worker : List.of(healthy, swapped)) {
      assertTrue(worker.awaitLine(line -> line.contains(" is READY ("), 120), worker.tail(30));
    }
    assertTrue(sequencer.awaitLine(NodeProcesses::midRun, 120), sequencer.tail(30));

    String base = "https://127.0.0.1:" + w3Http;
    SSLContext clusterCa = HttpsIdentity.client(own.resolve("ca.crt"), "the test's CA");
    BigInteger started = Http.serverCertificate(w3Http, clusterCa).getSerialNumber();

    // the slip: another node's key over the running worker's
    replace(own.resolve("tls.key"), strangers.resolve("node-1").resolve("tls.key"));
    assertTrue(
        swapped.awaitLine(
            line -> line.contains("changed and cannot be used") && line.contains("is not the key"),
            60),
        "the worker says its files cannot be used:\n" + swapped.tail(30));
    String metrics = Http.get(base + "/metrics", clusterCa).body();
    for (String series : TLS_SERIES) {
      assertTrue(metrics.contains("\n" + series + " "), series + " exported:\n" + metrics);
    }
    // the certificate the node uses (the test key set's: valid 1 day), in Unix seconds
    Matcher expiry =
        Pattern.compile("\nprover_tls_certificate_expiry_timestamp_seconds ([0-9.E]+)")
            .matcher(metrics);
    assertTrue(expiry.find(), metrics);
    double left = Double.parseDouble(expiry.group(1)) - System.currentTimeMillis() / 1e3;
    assertTrue(left > 3600 && left <= 86400, "seconds of validity left: " + left);
    String status = Http.get(base + "/status", clusterCa).body();
    assertTrue(status.contains("changed and cannot be used"), status);
    assertTrue(
        Http.get(base + "/metrics", clusterCa).body().contains("prover_tls_files_unusable 1.0"),
        "the metric says so");
    assertEquals(
        started,
        Http.serverCertificate(w3Http, clusterCa).getSerialNumber(),
        "the HTTPS endpoints serve the files read before, as the cluster's connections do (with"
            + " the swapped key, no handshake would succeed)");

    // a healthy worker restarts: it must connect to the swapped one, and both stay members
    healthy.process().destroy();
    assertTrue(healthy.awaitExit(60), healthy.tail(30));
    NodeProcesses.Node restarted = processes.relaunch(healthy);
    assertTrue(
        restarted.awaitLine(line -> line.contains(" is READY ("), 120),
        "the restarted worker is Ready:\n" + restarted.tail(30));
    int provenAtReady = NodeProcesses.provenBlocks(sequencer);
    // twenty more blocks: well past the 3.5 s a failed connection takes to be seen as unreachable
    // and the 3 s more before the downing of an unreachable worker
    assertTrue(
        sequencer.awaitLine(
            line -> {
              Matcher m = PROVEN.matcher(line);
              return m.find() && Integer.parseInt(m.group(1)) >= provenAtReady + 20;
            },
            180),
        "the job goes on:\n" + sequencer.tail(30));
    for (NodeProcesses.Node node : List.of(sequencer, restarted, swapped)) {
      NodeProcesses.assertNotDowned(node, String.join(" ", node.args()));
      assertTrue(node.process().isAlive(), node.tail(30));
    }
    assertTrue(
        sequencer.lines().stream().noneMatch(line -> line.contains("downing worker node")),
        "no worker downed:\n" + sequencer.tail(40));
    assertTrue(
        restarted.lines().stream()
            .noneMatch(line -> line.contains(" WARN ") && line.contains("TLS connection to")),
        "the restarted worker's connections all succeeded:\n" + restarted.tail(40));

    // the files put right: the node says so and uses them
    replace(own.resolve("tls.key"), NodeProcesses.nodeTlsDir().resolve("tls.key"));
    assertTrue(
        swapped.awaitLine(line -> line.contains("TLS files usable again"), 60), swapped.tail(30));
    assertTrue(
        Http.get(base + "/metrics", clusterCa).body().contains("prover_tls_files_unusable 0.0"),
        "the metric says so");

    // a renewal (a new key and certificate from the cluster's CA): the cluster's connections and
    // the HTTPS endpoints use it from the next connection, without a restart
    Path renewed = scratch.resolve("renewed");
    BigInteger renewedSerial =
        ClusterKeys.loadCa(NodeProcesses.keySet())
            .issueNode(renewed, NodeLauncher.SYSTEM, 1, List.of("127.0.0.1"), 1)
            .getSerialNumber();
    replace(own.resolve("tls.key"), renewed.resolve("tls.key"));
    replace(own.resolve("tls.crt"), renewed.resolve("tls.crt"));
    assertTrue(
        swapped.awaitLine(
            line ->
                line.contains("TLS files changed: new connections use them now")
                    && line.contains("serial " + renewedSerial.toString(16)),
            60),
        swapped.tail(30));
    assertEquals(
        renewedSerial,
        Http.serverCertificate(w3Http, clusterCa).getSerialNumber(),
        "the HTTPS endpoints serve the renewed certificate");
    assertEquals(200, Http.get(base + "/health/ready", clusterCa).status());
    int provenAtRenewal = NodeProcesses.provenBlocks(sequencer);
    assertTrue(
        sequencer.awaitLine(
            line -> {
              Matcher m = PROVEN.matcher(line);
              return m.find() && Integer.parseInt(m.group(1)) >= provenAtRenewal + 5;
            },
            120),
        "the job goes on after the renewal:\n" + sequencer.tail(30));
    NodeProcesses.assertNotDowned(swapped, String.join(" ", swapped.args()));
    assertTrue(
        swapped.lines().stream().noneMatch(line -> line.contains("the HTTPS endpoints: TLS files")),
        "the HTTPS endpoints follow the cluster's check of the same files, no check of their own:\n"
            + swapped.tail(40));
  }
}
