package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's bad input ends in one line on standard error and exit code 2, before anything
 * starts (issue 13, item 6); {@code --version} says which build runs. A missing peer is not bad
 * input: {@link LauncherWaitsIT}.
 */
class LauncherBadInputTest {

  /** {@code node --roles <roles> --no-tls --port <a free one> <more>}, run in this JVM. */
  private static LauncherRun node(String roles, String... more) throws java.io.IOException {
    List<String> args =
        new java.util.ArrayList<>(
            List.of("node", "--roles", roles, "--no-tls", "--port", "" + NodeProcesses.freePort()));
    args.addAll(List.of(more));
    return LauncherRun.of(args.toArray(String[]::new));
  }

  private static void assertOneLineRefusal(LauncherRun run, String says) {
    assertEquals(NodeLauncher.USAGE_EXIT, run.code(), run.err());
    assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
    assertTrue(run.err().contains(says), run.err());
  }

  @Test
  void aSeedWithoutPortIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "worker", "--no-tls", "--seeds", "127.0.0.1"),
        "--seeds entry '127.0.0.1' is not host:port (e.g. 127.0.0.1:2551)");
    assertOneLineRefusal(
        LauncherRun.of(
            "node", "--roles", "worker", "--no-tls", "--seeds", "127.0.0.1:2551,host:99999"),
        "'host:99999' is not host:port");
  }

  /**
   * {@code run --http-tls} takes its identity from {@code --tls <dir>}, checked before it starts.
   */
  @Test
  void anHttpsRunWithoutItsIdentityIsOneLine() {
    LauncherRun noIdentity = LauncherRun.of("run", "--http-tls", "--in-memory");
    assertEquals(1, noIdentity.err().strip().lines().count(), "one line: " + noIdentity.err());
    assertTrue(
        noIdentity
            .err()
            .contains(
                "(--http-tls) needs the node's PEM key and certificate: give " + "--tls <dir>"),
        noIdentity.err());
    assertOneLineRefusal(
        LauncherRun.of("run", "--http-tls", "--tls", "/nonexistent/node-1", "--in-memory"),
        "run refuses to start: TLS file /nonexistent/node-1/tls.key does not exist (--tls "
            + "/nonexistent/node-1)");
  }

  /** {@code --fresh} with {@code --in-memory} was accepted without a word: nothing to delete. */
  @Test
  void freshWithInMemoryIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of("run", "--fresh", "--in-memory"),
        "run refuses to start: --fresh deletes what --data-dir holds, and --in-memory uses no data"
            + " directory: give one of them");
  }

  @Test
  void aFreePortWithoutSeedsIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "worker", "--no-tls", "--port", "0"),
        "--port 0 (a free port) needs --seeds");
  }

  @Test
  void aPortInUseIsOneLine() throws Exception {
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      assertOneLineRefusal(
          LauncherRun.of("node", "--roles", "worker", "--no-tls", "--port", "" + port),
          "port "
              + port
              + " on 127.0.0.1 is in use (another node or program has it): give this node another --port");
    }
  }

  @Test
  void anHttpPortInUseIsOneLine() throws Exception {
    try (java.net.ServerSocket taken =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      String says =
          "port "
              + port
              + " on 127.0.0.1 is in use (another node or program has it): give this node "
              + "another --http-port";
      assertOneLineRefusal(node("worker", "--http-port", "" + port), says);
      assertOneLineRefusal(LauncherRun.of("run", "--in-memory", "--http-port", "" + port), says);
    }
  }

  /**
   * A bad setting the sequencer reads as it starts (here a bound of its result store) is one line
   * before anything starts. It was a sequencer that failed to start, logged as a stack trace, while
   * the run waited for compilation for ever.
   */
  @Test
  void aBadSettingOfTheSequencersIsOneLineBeforeAnythingStarts(@TempDir java.nio.file.Path data)
      throws java.io.IOException {
    String key = "prover.persistence.results.snapshot-every";
    String before = System.getProperty(key);
    System.setProperty(key, "0");
    com.typesafe.config.ConfigFactory.invalidateCaches();
    try {
      String says = key + " must be at least 1, was 0";
      assertOneLineRefusal(
          LauncherRun.of("run", "--data-dir", data.toString(), "--http-port", "-1"),
          "run refuses to start: " + says);
      assertOneLineRefusal(
          node("sequencer", "--http-port", "-1"), "node refuses to start: " + says);
    } finally {
      if (before == null) {
        System.clearProperty(key);
      } else {
        System.setProperty(key, before);
      }
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
    assertTrue(
        !java.nio.file.Files.exists(data.resolve(DataDirectory.JOURNAL + ".mv.db")),
        "no journal made");
  }

  @Test
  void aDataDirectoryInUseIsOneLineAndDeletesNothing(@TempDir java.nio.file.Path data)
      throws Exception {
    java.nio.file.Path journal = data.resolve(DataDirectory.JOURNAL + ".mv.db");
    java.nio.file.Files.writeString(journal, "a run's journal");
    try (java.nio.channels.FileChannel open =
            java.nio.channels.FileChannel.open(journal, java.nio.file.StandardOpenOption.WRITE);
        java.nio.channels.FileLock held = open.lock()) { // as the running H2 database holds it
      assertTrue(held.isValid());
      assertOneLineRefusal(
          LauncherRun.of(
              "run",
              "--data-dir",
              data.toString(),
              "--fresh",
              "--http-port",
              "-1",
              "--blocks",
              "1"),
          "run refuses to start: the journal " + journal + " is in use");
      // without --fresh too: it would resume a journal another run holds, and wait for ever
      assertOneLineRefusal(
          LauncherRun.of(
              "run", "--data-dir", data.toString(), "--http-port", "-1", "--blocks", "1"),
          "run refuses to start: the journal " + journal + " is in use");
    }
    assertEquals("a run's journal", java.nio.file.Files.readString(journal));
  }

  @Test
  void anUnknownRoleIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "sequencer,workers", "--no-tls"),
        "unknown role 'workers' in --roles: use sequencer, queue or worker");
  }

  @Test
  void aServiceOptionWithoutServiceIsOneLine() throws Exception {
    String says = "--block-interval is an option of --service";
    assertOneLineRefusal(LauncherRun.of("run", "--in-memory", "--block-interval", "5s"), says);
    assertOneLineRefusal(
        node("sequencer,queue", "--block-interval", "5s"), "node refuses to start: " + says);
  }

  @Test
  void aPluginThatIsNotThereIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of(
            "node", "--roles", "worker", "--no-tls", "--plugin", "com.example.NoSuchPlugin"),
        "--plugin com.example.NoSuchPlugin: no such plugin or class (on the class path: appchain "
            + "(dev.pekkoprover.cluster.AppchainPlugin)); add the jar that holds it to the class path");
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "worker", "--no-tls", "--plugin", "java.lang.String"),
        "--plugin java.lang.String: the class does not implement dev.pekkoprover.node.ProverPlugin");
  }

  @Test
  void seedAddressesAreHostAndPort() {
    assertNull(
        ClusterPlacement.invalidSeed(
            List.of("127.0.0.1:2551", " prover-0.prover:2551", "[::1]:2552")));
    assertEquals(
        true, ClusterPlacement.invalidSeed(List.of("pekko://prover@127.0.0.1:2551")) != null);
    assertEquals(true, ClusterPlacement.invalidSeed(List.of("127.0.0.1:0")) != null);
  }

  @Test
  void aDatabaseUrlThatIsNotPostgresIsOneLineBeforeAnyWait() throws Exception {
    // a trial's typo: a stack trace and exit 1 (the code of failed proofs) before
    assertOneLineRefusal(
        node("sequencer,queue", "--db-url", "jdbc:postgres://127.0.0.1:5432/prover"),
        "node refuses to start: --db-url must be a PostgreSQL JDBC URL"
            + " (jdbc:postgresql://host:5432/db), was jdbc:postgres://127.0.0.1:5432/prover");
  }

  @Test
  void exitWithoutSequencerOnASequencerNodeIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of(
            "node", "--roles", "sequencer,queue", "--no-tls", "--exit-without-sequencer"),
        "--exit-without-sequencer is for nodes without the sequencer role");
  }

  @Test
  void noQueueNodesIsOneLine() {
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "sequencer,queue", "--no-tls", "--queue-nodes", "0"),
        "--queue-nodes 0 is no number of queue nodes");
  }

  @Test
  void noWorkersIsOneLineNotAHang() {
    assertOneLineRefusal(
        LauncherRun.of("run", "--workers", "0", "--in-memory"),
        "--workers and --concurrency must be at least 1");
    assertOneLineRefusal(
        LauncherRun.of("run", "--concurrency", "0", "--in-memory"), "(were 2 and 0)");
    assertOneLineRefusal(
        LauncherRun.of("node", "--roles", "worker", "--no-tls", "--workers", "0"),
        "a node with the worker role needs --workers and --concurrency of at least 1");
  }

  /**
   * The job's settings are read before anything starts: before the embedded run compiles its
   * circuits, before a sequencer node joins, before {@code --fresh} deletes anything.
   */
  @Test
  void outOfRangeJobSettingsAreOneLineBeforeAnythingStarts() throws Exception {
    assertOneLineRefusal(
        LauncherRun.of("run", "--blocks", "0", "--in-memory"),
        "the appchain job needs accounts >= 2, blocks >= 1, txs per block >= 1 and blocks per "
            + "batch >= 1 (--accounts, --blocks, --txs, --batch; were 200, 0, 32, 5)");
    assertOneLineRefusal(
        LauncherRun.of("run", "--proving-work", "-5", "--in-memory"),
        "proving-work must be at least 0, was -5");
    assertOneLineRefusal(
        LauncherRun.of("run", "--crash-every", "-1", "--in-memory"),
        "crash-every (--crash-every) must be at least 0 (0: never), was -1");
    assertOneLineRefusal(
        LauncherRun.of("run", "--service", "--block-interval", "xyz", "--in-memory"),
        "No number in duration value 'xyz'");
    assertOneLineRefusal(
        LauncherRun.of("run", "--service", "--block-interval", "0s", "--in-memory"),
        "the appchain service needs a positive block interval");
    assertOneLineRefusal(
        LauncherRun.of("run", "--service", "--accounts", "1", "--in-memory"),
        "the appchain service needs --accounts >= 2 (a transfer has a sender and a recipient), "
            + "was 1");
    assertOneLineRefusal(
        node("sequencer,queue", "--batch", "0"),
        "node refuses to start: plugin appchain: the appchain job needs accounts >= 2");
    assertOneLineRefusal(
        node("worker", "--tasks", "FooTask"),
        "--tasks names 'FooTask', which it does not have; it has [worker-registration, "
            + "CircuitCompilerTask,");
  }

  @Test
  void aDrainLongerThanItsShutdownPhaseIsOneLine() throws Exception {
    System.setProperty("prover.worker.drain-timeout", "60s");
    com.typesafe.config.ConfigFactory.invalidateCaches();
    try {
      assertOneLineRefusal(
          node("worker", "--seeds", "127.0.0.1:" + NodeProcesses.freePort()),
          "node refuses to start: prover.worker.drain-timeout (60000 ms) does not fit in the"
              + " shutdown phase that runs it: set"
              + " pekko.coordinated-shutdown.phases.service-requests-done.timeout (now 30000 ms)"
              + " to at least 63000 ms, or lower the drain timeout");
    } finally {
      System.clearProperty("prover.worker.drain-timeout");
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void aDownedTerminationTimeoutThatIsNotPositiveIsOneLine() throws Exception {
    System.setProperty("prover.cluster.downed-termination-timeout", "0s");
    com.typesafe.config.ConfigFactory.invalidateCaches();
    try {
      assertOneLineRefusal(
          node("worker", "--seeds", "127.0.0.1:" + NodeProcesses.freePort()),
          "node refuses to start: prover.cluster.downed-termination-timeout must be positive (3s by"
              + " default), was 0 ms");
    } finally {
      System.clearProperty("prover.cluster.downed-termination-timeout");
      com.typesafe.config.ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void versionSaysWhichBuildRuns() {
    for (String[] args : List.of(new String[] {"--version"}, new String[] {"node", "--version"})) {
      LauncherRun run = LauncherRun.of(args);
      assertEquals(0, run.code(), run.err());
      assertTrue(run.out().startsWith("prover-node "), run.out());
      assertTrue(run.out().contains("Apache Pekko 1."), run.out());
    }
  }

  /**
   * What picocli cannot parse: its message, where the options are listed, and not the whole usage;
   * seed nodes given to {@code --seed} (the genesis seed, a number) name {@code --seeds}.
   */
  @Test
  void argumentsPicocliCannotParseGetItsMessageAndWhereTheOptionsAreNotTheWholeUsage() {
    LauncherRun seed = LauncherRun.of("node", "--roles", "worker", "--seed", "127.0.0.1:2552");
    assertEquals(NodeLauncher.USAGE_EXIT, seed.code(), seed.err());
    assertEquals(
        List.of(
            "prover-node: Invalid value for option '--seed': '127.0.0.1:2552' is not a long (--seed"
                + " is the genesis seed, a number; seed nodes go in --seeds host:port[,host:port])",
            "The options: prover-node node --help"),
        seed.err().strip().lines().toList());

    LauncherRun typo = LauncherRun.of("run", "--in-memory", "--blcoks", "6");
    assertEquals(NodeLauncher.USAGE_EXIT, typo.code(), typo.err());
    assertTrue(typo.err().startsWith("prover-node: Unknown options: '--blcoks', '6'"), typo.err());
    assertTrue(typo.err().contains("--blocks"), "picocli's suggestion: " + typo.err());
    assertTrue(typo.err().strip().endsWith("The options: prover-node run --help"), typo.err());
    assertTrue(typo.err().lines().count() < 8, "not the whole usage: " + typo.err());
  }
}
