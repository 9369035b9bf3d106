package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * A network partition between real node processes with the shipped configuration: each node in a
 * network namespace of its own ({@link NetworkNamespaces}), one of them cut off mid-run (or, in the
 * journal drill, the sequencer's node split off with a worker while both sides still reach
 * PostgreSQL), every packet across the cut dropped, then the network back. The test acts as the
 * nodes' process supervisor (systemd's {@code Restart=on-failure}: a node that exits non-zero is
 * started again with its own command). README's "Failures in the cluster" gives the figures these
 * drills measure. Every node's output is written to {@code target/it-logs/NetworkPartitionIT/<test
 * method>}.
 */
class NetworkPartitionIT {
  private static final int BLOCKS = 12;

  /**
   * The cut-off worker's drill: long enough that its restart, once the network is back (about 13 s
   * after the cut), joins before the run ends (12 blocks ended 11 s after that, 24 blocks once only
   * 4.5 s after the restart was Up).
   */
  private static final int LONGER_BLOCKS = 32;

  private NodeProcesses processes;
  private NetworkNamespaces network;
  private final List<TcpProxy> proxies = new ArrayList<>();

  @BeforeEach
  void processes(TestInfo test) {
    // one directory per drill: each keeps its own nodes' outputs
    processes =
        new NodeProcesses(
            NodeProcesses.logDirectory(
                "NetworkPartitionIT/" + test.getTestMethod().orElseThrow().getName()));
  }

  @AfterEach
  void killEverything() throws Exception {
    try {
      processes.close();
    } finally {
      for (TcpProxy proxy : proxies) {
        try {
          proxy.close();
        } catch (IOException | RuntimeException e) { // the network goes all the same
          System.err.println("could not close a database proxy: " + e);
        }
      }
      if (network != null) {
        network.close();
      }
    }
  }

  /**
   * The job of every drill's sequencer: {@code blocks} blocks of 16 transactions, batches of 3,
   * 300,000 units of proving work per task, the node ending once the job is done.
   */
  private static List<String> job(int blocks) {
    return List.of(
        "--blocks",
        "" + blocks,
        "--txs",
        "16",
        "--batch",
        "3",
        "--proving-work",
        "300000",
        "--exit-when-done");
  }

  /**
   * Starts {@code node --roles <roles>} in {@code host}'s namespace, on its address and {@code
   * port}, joining through {@code seeds} (host:port,...), with {@code more} arguments after those.
   */
  private NodeProcesses.Node launch(
      NetworkNamespaces.Host host, String roles, int port, String seeds, List<String> more)
      throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "node",
                "--roles",
                roles,
                "--host",
                host.address(),
                "--port",
                "" + port,
                "--seeds",
                seeds));
    args.addAll(more);
    return processes.launch(host.exec(), List.of(), args);
  }

  /** A sequencer and queue node and {@code workers} worker nodes, each on a host of its own. */
  private record Cluster(
      NetworkNamespaces.Host sequencerHost,
      NodeProcesses.Node sequencer,
      NetworkNamespaces.Host[] workerHosts,
      NodeProcesses.Node[] workers) {}

  private Cluster start(int workers, int blocks) throws Exception {
    network = NetworkNamespaces.orSkip();
    NetworkNamespaces.Host sequencerHost = network.host();
    NetworkNamespaces.Host[] workerHosts = new NetworkNamespaces.Host[workers];
    int port = NodeProcesses.freePort(); // every host has its own addresses: one port for all
    List<String> seedList = new ArrayList<>(List.of(sequencerHost.address() + ":" + port));
    for (int i = 0; i < workers; i++) {
      workerHosts[i] = network.host();
      seedList.add(workerHosts[i].address() + ":" + port);
    }
    String seeds = String.join(",", seedList);
    NodeProcesses.Node sequencer =
        launch(sequencerHost, "sequencer,queue", port, seeds, job(blocks));
    NodeProcesses.Node[] workerNodes = new NodeProcesses.Node[workers];
    for (int i = 0; i < workers; i++) {
      workerNodes[i] = launch(workerHosts[i], "worker", port, seeds, List.of());
    }
    assertTrue(
        sequencer.awaitLine(NodeProcesses::midRun, 120),
        "blocks are being proven:\n" + sequencer.tail(40));
    return new Cluster(sequencerHost, sequencer, workerHosts, workerNodes);
  }

  /**
   * Up to {@code seconds} for {@code until}, meanwhile the workers' supervisor ({@link
   * NodeProcesses#restartExited}) every 100 ms.
   */
  private void supervise(
      String what,
      long seconds,
      NodeProcesses.Node[] workers,
      List<NodeProcesses.Exit> exits,
      java.util.function.BooleanSupplier until) {
    NodeProcesses.polling(what, Duration.ofSeconds(seconds), Duration.ofMillis(100))
        .pollInSameThread() // the supervising restarts processes: in the test's thread
        .until(
            () -> {
              processes.restartExited(workers, exits);
              return until.getAsBoolean();
            });
  }

  /** When the first line of {@code node} that passes {@code test} was written, or -1. */
  private static long firstAt(NodeProcesses.Node node, Predicate<String> test, long after) {
    return node.linesWhere(test).stream()
        .mapToLong(NodeProcesses.Line::millis)
        .filter(at -> at >= after)
        .findFirst()
        .orElse(-1);
  }

  private static String seconds(long at, long since) {
    return at < 0 ? "never" : String.format("%.1f s", (at - since) / 1000.0);
  }

  /**
   * The longest a downed node's process may take from learning it is downed to its exit: the
   * shutdown's phases (2-4 s measured) and {@code prover.cluster.downed-termination-timeout} (3 s),
   * with room for a loaded machine. Without that timeout a node cut off took 16 s when Pekko's
   * remoting waited for its streams to the peers it could not reach (2 of about 8 drills).
   */
  private static final long DOWNED_EXIT_MILLIS = 10_000;

  /**
   * That {@code exit}'s node learned it was downed (its split-brain resolver's decision, or gossip
   * that says so) and exited within {@link #DOWNED_EXIT_MILLIS}; the time it took.
   */
  private static long assertExitedSoonAfterItsDowning(NodeProcesses.Exit exit) {
    long downed =
        firstAt(
            exit.node(),
            line ->
                line.contains("including myself")
                    || line.contains("Received gossip where this member has been downed"),
            0);
    assertTrue(downed > 0, "the node learned it was downed:\n" + exit.node().tail(30));
    long took = exit.at() - downed;
    assertTrue(
        took <= DOWNED_EXIT_MILLIS,
        "the downed node exited "
            + took
            + " ms after it learned it was downed:\n"
            + exit.node().tail(30));
    return took;
  }

  /**
   * The processes that exited before the network was back are exactly {@code cutOff}, and every
   * exit is a downed worker process (code 3, its one line, out within {@link #DOWNED_EXIT_MILLIS}
   * of learning it); returns how many worker processes were downed after the network was back.
   * Those can be: after a cut of more than about 12 s, a node that sent to a cut-off process during
   * the cut holds a TCP connection to its address in retransmission backoff (200 ms, doubling: the
   * resend after 12.6 s comes at about 25 s), so what it sends to the process restarted at that
   * address waits in that connection until the resend is reset; the new process and that node see
   * each other unreachable, and the oldest stateful node downs the worker node(s) among them after
   * 3 s ({@code prover.cluster.down-unreachable-workers-after}; Pekko's resolver would down both
   * sides of such a one-way cut too). Each costs a restart, no state.
   */
  private static long assertExitsAreDowningsOf(
      List<NodeProcesses.Exit> exits, long healedAt, NodeProcesses.Node... cutOff) {
    List<NodeProcesses.Node> before =
        exits.stream().filter(exit -> exit.at() <= healedAt).map(NodeProcesses.Exit::node).toList();
    assertEquals(
        Set.copyOf(List.of(cutOff)),
        Set.copyOf(before),
        "before the network was back exactly the cut-off processes exited: " + exits);
    assertEquals(cutOff.length, before.size(), "each once: " + exits);
    for (NodeProcesses.Exit exit : exits) {
      assertEquals("worker", exit.node().arg("--roles"), "only worker nodes exited: " + exits);
      assertEquals(3, exit.code(), exit.node().tail(30));
      NodeProcesses.assertDownedOnce(
          exit.node(), exit.node().arg("--host") + ":" + exit.node().arg("--port"));
      assertExitedSoonAfterItsDowning(exit);
    }
    Map<String, Long> again =
        exits.stream()
            .filter(exit -> exit.at() > healedAt)
            .collect(
                Collectors.groupingBy(
                    exit -> exit.node().arg("--host") + ":" + exit.node().arg("--port"),
                    Collectors.counting()));
    again.forEach(
        (node, times) ->
            assertTrue(
                times <= 1,
                "worker node "
                    + node
                    + " was downed at most once after the network was back: "
                    + times));
    return exits.size() - before.size();
  }

  /**
   * One of two worker nodes cut off from the cluster mid-run. The sequencer's side sees it
   * unreachable and puts the tasks it held back at once, downs it about 3 s later; on its own side
   * of the cut the worker node finds no stateful node and downs itself ({@code keep-majority} over
   * role {@code stateful}), exiting with code 3. Once the network is back its supervisor's restart
   * joins again, and the run ends {@code RESULT OK} with equal roots; the other worker node never
   * stops.
   */
  @Test
  void aWorkerNodeCutOffMidRunIsDownedItsTasksGoElsewhereAndTheRunCompletes() throws Exception {
    Cluster cluster = start(2, LONGER_BLOCKS);
    NetworkNamespaces.Host cutHost = cluster.workerHosts()[0];
    String cutNode = cutHost.address() + ":" + cluster.workers()[0].arg("--port");
    NodeProcesses.Node cutProcess = cluster.workers()[0];
    List<NodeProcesses.Exit> exits = new ArrayList<>();

    long cutAt = System.currentTimeMillis();
    network.cut(cutHost);
    System.out.println("worker node " + cutNode + " cut off from the network");
    supervise(
        "the cut-off worker node's process has exited",
        60,
        cluster.workers(),
        exits,
        () -> !exits.isEmpty());
    long healedAt = System.currentTimeMillis();
    network.heal(cutHost);
    System.out.printf("the network is back %.1f s after the cut%n", (healedAt - cutAt) / 1000.0);
    supervise(
        "the sequencer node's process has exited",
        180,
        cluster.workers(),
        exits,
        () -> !cluster.sequencer().process().isAlive());

    NodeProcesses.Node sequencer = cluster.sequencer();
    assertTrue(sequencer.awaitExit(10));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, LONGER_BLOCKS);

    assertEquals(cutProcess, exits.get(0).node(), "the cut-off worker node exited first");
    long downedAgain = assertExitsAreDowningsOf(exits, healedAt, cutProcess);
    long exitAfterDowning = assertExitedSoonAfterItsDowning(exits.get(0));
    processes.assertNoInstabilityDowning();
    processes.assertNoOlderRunTaskFailed();

    long unreachable =
        firstAt(
            sequencer,
            line ->
                line.equals(
                    "worker node "
                        + cutNode
                        + " is unreachable: its tasks go back to"
                        + " the queue"),
            cutAt);
    long putBack =
        firstAt(
            sequencer,
            line ->
                line.contains("node pekko://prover@" + cutNode + " of worker ")
                    && line.contains(" is unreachable: the "),
            cutAt);
    long downing =
        firstAt(sequencer, line -> line.contains("downing worker node " + cutNode + ":"), cutAt);
    long removed =
        firstAt(
            sequencer,
            line -> line.startsWith("worker node " + cutNode + " downed and removed"),
            cutAt);
    assertTrue(unreachable > 0, "the sequencer's node saw the worker node unreachable");
    assertTrue(downing > 0, "the sequencer's node downed the worker node:\n" + sequencer.tail(60));
    assertTrue(removed > 0, "the worker node was removed");
    long rejoined =
        firstAt(sequencer, line -> line.startsWith("worker node " + cutNode + " is Up"), healedAt);
    assertTrue(rejoined > 0, "the restarted worker node joined again");
    System.out.printf(
        "NetworkPartitionIT, a worker node cut off: unreachable %s after the cut, tasks put back %s"
            + " (%s), downed %s, removed %s; its process exited 3 at %s (%.1f s after it learned it"
            + " was downed); the network back at %s; its restart Up %s after that; worker"
            + " processes downed after the network was back: %d%n",
        seconds(unreachable, cutAt),
        seconds(putBack, cutAt),
        putBack < 0 ? "it held none" : "it held some",
        seconds(downing, cutAt),
        seconds(removed, cutAt),
        seconds(exits.get(0).at(), cutAt),
        exitAfterDowning / 1000.0,
        seconds(healedAt, cutAt),
        seconds(rejoined, healedAt),
        downedAgain);
  }

  /**
   * The sequencer and queue node, the only stateful one, cut off from every worker node mid-run.
   * The workers, on the side without a stateful node, down themselves and exit 3; their
   * supervisor's restarts wait to join. The sequencer's node downs them, keeps every task (put
   * back, pending) and keeps running; once the network is back the restarted workers join and the
   * run ends {@code RESULT OK} with equal roots, the sequencer's node never downed.
   */
  @Test
  void theSequencerNodeCutOffFromEveryWorkerKeepsItsRunWhichCompletesOnceTheNetworkIsBack()
      throws Exception {
    Cluster cluster = start(2, BLOCKS);
    NodeProcesses.Node sequencer = cluster.sequencer();
    List<NodeProcesses.Exit> exits = new ArrayList<>();
    NodeProcesses.Node[] first = cluster.workers().clone();

    long cutAt = System.currentTimeMillis();
    network.cut(cluster.sequencerHost());
    System.out.println("the sequencer node cut off from the network");
    supervise(
        "both worker nodes' first processes have exited",
        60,
        cluster.workers(),
        exits,
        () -> exits.size() >= first.length);
    long healedAt = System.currentTimeMillis();
    network.heal(cluster.sequencerHost());
    System.out.printf("the network is back %.1f s after the cut%n", (healedAt - cutAt) / 1000.0);
    assertTrue(
        sequencer.process().isAlive(), "the sequencer's node runs on:\n" + sequencer.tail(30));
    supervise(
        "the sequencer node's process has exited",
        180,
        cluster.workers(),
        exits,
        () -> !sequencer.process().isAlive());

    assertTrue(sequencer.awaitExit(10));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);
    long downedAgain = assertExitsAreDowningsOf(exits, healedAt, first);
    NodeProcesses.assertNotDowned(sequencer, "the sequencer's node");
    processes.assertNoInstabilityDowning();
    processes.assertNoOlderRunTaskFailed();

    long downings =
        sequencer.linesWhere(line -> line.contains("downing worker node ")).stream()
            .filter(line -> line.millis() >= cutAt)
            .count();
    long firstRegistration =
        firstAt(sequencer, line -> line.contains(" registered (task "), healedAt);
    long lastExit = exits.stream().mapToLong(NodeProcesses.Exit::at).max().orElse(-1);
    System.out.printf(
        "NetworkPartitionIT, the sequencer node cut off: %d worker node(s) downed by it; the worker"
            + " processes exited 3 by %s; the network back at %s; first registration %s after that;"
            + " summary %s after that; worker processes downed after the network was back: %d%n",
        downings,
        seconds(lastExit, cutAt),
        seconds(healedAt, cutAt),
        seconds(firstRegistration, healedAt),
        seconds(firstAt(sequencer, line -> line.equals("== summary =="), healedAt), healedAt),
        downedAgain);
  }

  /**
   * A worker node cut off for {@code millis}, then back; the run to its end under the workers'
   * supervisor. The run ends {@code RESULT OK} and no worker process exits.
   */
  private ShortCut shortCut(long millis) throws Exception {
    Cluster cluster = start(2, BLOCKS);
    NetworkNamespaces.Host cutHost = cluster.workerHosts()[0];
    long cutAt = System.currentTimeMillis();
    network.cut(cutHost);
    // not a wait for a condition: the scenario's cut lasts this long whatever happens
    Thread.sleep(millis);
    network.heal(cutHost);
    System.out.printf(
        "worker node %s:%s cut off for %d ms%n",
        cutHost.address(), cluster.workers()[0].arg("--port"), System.currentTimeMillis() - cutAt);
    List<NodeProcesses.Exit> exits = new ArrayList<>();
    NodeProcesses.Node sequencer = cluster.sequencer();
    supervise(
        "the sequencer node's process has exited",
        180,
        cluster.workers(),
        exits,
        () -> !sequencer.process().isAlive());
    assertTrue(sequencer.awaitExit(10));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);
    assertEquals(List.of(), exits, "no worker process exited");
    assertTrue(
        sequencer.lines().stream().noneMatch(line -> line.contains("downing worker node")),
        "no worker node was downed:\n" + sequencer.tail(30));
    processes.assertNoInstabilityDowning();
    processes.assertNoOlderRunTaskFailed();
    return new ShortCut(sequencer, cutHost.address() + ":" + cluster.workers()[0].arg("--port"));
  }

  /** The sequencer's node after a short cut, and the cut node's host:port. */
  private record ShortCut(NodeProcesses.Node sequencer, String cutNode) {}

  /**
   * A cut well below the failure detector's verdict (heartbeat every 1 s, {@code
   * acceptable-heartbeat-pause = 2s}: about 3.5 s of silence) changes nothing: no node sees another
   * unreachable, no task is put back, no process exits. TCP resends what the cut dropped only when
   * its retransmission timer (doubling from 200 ms while the cut lasts) fires again, so each side
   * hears nothing for longer than the cut: up to about 2.5 s for this one.
   */
  @Test
  void aOneSecondCutChangesNothing() throws Exception {
    NodeProcesses.Node sequencer = shortCut(1_000).sequencer();
    for (NodeProcesses.Node node : processes.all()) {
      assertTrue(
          node.lines().stream().noneMatch(line -> line.contains("UNREACHABLE")),
          "no node saw another unreachable (" + node.args() + "):\n" + node.tail(30));
    }
    assertTrue(
        sequencer.lines().stream().noneMatch(line -> line.contains(" put back")),
        "no task was put back:\n" + sequencer.tail(30));
  }

  /**
   * A cut of 2.5 s: with TCP's retransmission timer the silence lasts about 3-4 s, around the
   * failure detector's verdict. When the worker node is found unreachable, the tasks it held are
   * put back, and once it is reachable again (before the 3 s after which the oldest stateful node
   * downs a worker) the queue gives it work again; it is never downed, and nothing is lost. The
   * times compared are the sequencer node's own log timestamps.
   */
  @Test
  void aCutAroundTheVerdictPutsTasksBackAndTheWorkerGetsWorkAgainWithoutDowning() throws Exception {
    ShortCut cut = shortCut(2_500);
    NodeProcesses.Node sequencer = cut.sequencer();
    String cutNode = "pekko://prover@" + cut.cutNode();
    // the sequencer node's own view, the launcher's line: another node may be the one that
    // observed the worker node unreachable (Pekko's "Marking node as UNREACHABLE" is then in that
    // node's log only), and the gossip brings it here
    List<NodeProcesses.Line> unreachable =
        sequencer.linesWhere(
            line -> line.startsWith("worker node " + cut.cutNode() + " is unreachable: "));
    List<NodeProcesses.Line> reachable =
        sequencer.linesWhere(
            line -> line.contains("node " + cutNode + " is reachable again: its worker(s) ["));
    long putBack =
        sequencer.lines().stream()
            .filter(
                line -> line.contains(" put back, to go out again") && line.contains("unreachable"))
            .count();
    if (!unreachable.isEmpty()) {
      long lastUnreachable = unreachable.get(unreachable.size() - 1).millis();
      assertTrue(
          reachable.stream().anyMatch(line -> line.millis() >= lastUnreachable),
          "the worker node found unreachable was reachable again and got work:\n"
              + sequencer.tail(40));
    } else {
      assertEquals(0, putBack, "nothing unreachable, nothing put back:\n" + sequencer.tail(40));
    }
    System.out.printf(
        "NetworkPartitionIT, a 2.5 s cut: %s%n",
        unreachable.isEmpty()
            ? "the worker node was never found unreachable"
            : String.format(
                "the worker node found unreachable %d time(s), the first for %.1f s; %d task(s) put"
                    + " back; no downing",
                unreachable.size(),
                (reachable.stream()
                            .mapToLong(NodeProcesses.Line::millis)
                            .filter(at -> at >= unreachable.get(0).millis())
                            .min()
                            .orElseThrow()
                        - unreachable.get(0).millis())
                    / 1000.0,
                putBack));
  }

  /**
   * One writer's events in one persistence id of the journal: how many, when the first and the last
   * were made (their {@code write_timestamp}: epoch milliseconds of the writing JVM's clock when it
   * persisted them), and the lowest and highest {@code ordering} (the database's sequence, taken as
   * each row went in). Every row of the run is still there: a store deletes events only once it has
   * two snapshots, one every 2,000 events (sequencer-actor's reference.conf), and this drill's run
   * writes about 1,500.
   */
  private record Writes(
      String persistenceId,
      String writer,
      long events,
      long first,
      long last,
      long firstRow,
      long lastRow) {
    /** Whether the two writers' events overlap in time made or in rows written. */
    boolean overlaps(Writes other) {
      return first <= other.last && other.first <= last
          || firstRow <= other.lastRow && other.firstRow <= lastRow;
    }
  }

  /** Every (persistence id, writer) of the deployment's journal rows, by first write. */
  private static List<Writes> journalWriters(TestDatabase database) throws SQLException {
    List<Writes> writes = new ArrayList<>();
    try (Connection connection =
            DriverManager.getConnection(database.url(), database.user(), database.password());
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT persistence_id, writer, count(*), min(write_timestamp),"
                    + " max(write_timestamp), min(ordering), max(ordering) FROM event_journal"
                    + " WHERE persistence_id LIKE 'prover-%' GROUP BY persistence_id, writer"
                    + " ORDER BY 4")) {
      while (rows.next()) {
        writes.add(
            new Writes(
                rows.getString(1),
                rows.getString(2),
                rows.getLong(3),
                rows.getLong(4),
                rows.getLong(5),
                rows.getLong(6),
                rows.getLong(7)));
      }
    }
    return writes;
  }

  /**
   * How many journal events of the deployment were made from {@code from} to before {@code to}
   * (epoch milliseconds).
   */
  private static long eventsMadeBetween(TestDatabase database, long from, long to)
      throws SQLException {
    try (Connection connection =
            DriverManager.getConnection(database.url(), database.user(), database.password());
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT count(*) FROM event_journal WHERE persistence_id LIKE 'prover-%' AND"
                    + " write_timestamp >= "
                    + from
                    + " AND write_timestamp < "
                    + to)) {
      assertTrue(rows.next());
      return rows.getLong(1);
    }
  }

  /**
   * The sequencer's node cut off with one worker node, its journal in PostgreSQL reachable from
   * both sides (each stateful node's own link to the database, which the partition leaves alone):
   * the split brain where the old sequencer can still write while a new one starts. Three stateful
   * nodes (A: {@code sequencer,queue}, running the job; B: {@code sequencer,queue}, the same job on
   * the same database, standing by; C: {@code queue}) and two worker nodes. A and worker W1 on one
   * side of the partition, B, C and W2 on the other. A's side holds one of three stateful nodes: it
   * downs itself, A and W1 exit 3; B's side downs them and the sequencer singleton starts on B,
   * which resumes from the journal what A stored and ends {@code RESULT OK} with equal roots. What
   * the journal must show: two writers of one persistence id never wrote at the same time (neither
   * their spans of write times nor their spans of rows overlap), every writer that began before B's
   * sequencer started (A's) ended before it, and A's process was gone before any later writer (B's)
   * wrote; no write was refused. A's side goes on proving until it downs itself (hundreds of
   * results written after the cut): the sides' timing, not a lack of work, keeps them apart.
   */
  @Test
  void theSequencerCutOffWithItsJournalReachableStopsWritingBeforeTheStandbyStarts()
      throws Exception {
    TestDatabase database = TestDatabase.postgresOrSkip();
    network = NetworkNamespaces.orSkip();
    database.wipe();
    URI direct = URI.create(database.url().substring("jdbc:".length()));
    assertNotNull(direct.getHost(), "PROVER_TEST_DB_URL names a host: " + database.url());
    NetworkNamespaces.Host hostA = network.host();
    NetworkNamespaces.Host hostB = network.host();
    NetworkNamespaces.Host hostC = network.host();
    NetworkNamespaces.Host[] workerHosts = {network.host(), network.host()};
    int port = NodeProcesses.freePort();
    // A first: it forms the cluster and is the oldest, so the sequencer singleton starts there
    String seeds =
        Stream.of(hostA, hostB, hostC)
            .map(host -> host.address() + ":" + port)
            .collect(Collectors.joining(","));
    List<NodeProcesses.Node> stateful = new ArrayList<>();
    for (NetworkNamespaces.Host host : List.of(hostA, hostB)) {
      // the host's own link to this machine, where a proxy to the database listens for it
      String outside = network.outsideLink(host);
      TcpProxy proxy =
          new TcpProxy(
              InetAddress.getByName(outside),
              direct.getHost(),
              direct.getPort() < 0 ? 5432 : direct.getPort());
      proxies.add(proxy);
      String url =
          "jdbc:postgresql://"
              + outside
              + ":"
              + proxy.port()
              + direct.getRawPath()
              + (direct.getRawQuery() == null ? "" : "?" + direct.getRawQuery());
      stateful.add(
          launch(
              host,
              "sequencer,queue",
              port,
              seeds,
              Stream.concat(
                      Stream.of(
                          "--db-url",
                          url,
                          "--db-user",
                          database.user(),
                          "--db-password",
                          database.password()),
                      job(LONGER_BLOCKS).stream())
                  .toList()));
    }
    NodeProcesses.Node a = stateful.get(0);
    NodeProcesses.Node b = stateful.get(1);
    NodeProcesses.Node c = launch(hostC, "queue", port, seeds, List.of());
    NodeProcesses.Node[] workers = new NodeProcesses.Node[2];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = launch(workerHosts[i], "worker", port, seeds, List.of());
    }
    // B and C vote only once Up (StandbyTakeoverIT)
    for (NodeProcesses.Node standby : List.of(b, c)) {
      assertTrue(
          standby.awaitLine(line -> line.contains(" is Up in the cluster of "), 120),
          "B and C are Up:\n" + standby.tail(40));
    }
    assertTrue(a.awaitLine(NodeProcesses::midRun, 150), "A proves:\n" + a.tail(40));
    NodeProcesses.Node w1 = workers[0];

    long cutAt = System.currentTimeMillis();
    network.split(hostA, workerHosts[0]);
    System.out.println(
        "A and W1 split off from B, C and W2; every stateful node reaches the database");
    List<NodeProcesses.Exit> exits = new ArrayList<>();
    long[] aExitAt = {-1}; // when the test saw A's process gone (polled every 100 ms)
    supervise(
        "A's and W1's processes have exited",
        60,
        workers,
        exits,
        () -> {
          if (aExitAt[0] < 0 && !a.process().isAlive()) {
            aExitAt[0] = System.currentTimeMillis();
          }
          return aExitAt[0] >= 0 && exits.stream().anyMatch(exit -> exit.node() == w1);
        });
    long aExit = aExitAt[0];
    // A is not started again: its restart would stand by as B did (StandbyTakeoverIT)
    long healedAt = System.currentTimeMillis();
    network.heal(hostA);
    network.heal(workerHosts[0]);
    supervise("B's process has exited", 240, workers, exits, () -> !b.process().isAlive());

    assertTrue(b.awaitExit(10));
    assertEquals(0, b.process().exitValue(), b.tail(60));
    NodeProcesses.assertResultOk(b, LONGER_BLOCKS);
    Matcher reused = DurableClusterIT.REUSED.matcher(b.output());
    assertTrue(reused.find(), "B says what it reused:\n" + b.tail(60));
    assertTrue(
        Long.parseLong(reused.group(1)) + Long.parseLong(reused.group(2)) > 0,
        "B resumed from what A stored:\n" + b.tail(60));
    assertTrue(a.awaitExit(10));
    assertEquals(3, a.process().exitValue(), a.tail(40));
    NodeProcesses.assertDownedOnce(a, hostA.address() + ":" + port);
    long aExitAfterDowning = assertExitedSoonAfterItsDowning(new NodeProcesses.Exit(a, 3, aExit));
    assertTrue(a.lines().stream().noneMatch(line -> line.contains("RESULT")), a.tail(40));
    assertEquals(w1, exits.get(0).node(), "W1 exited first");
    long w1DownedAgain = assertExitsAreDowningsOf(exits, healedAt, w1);
    NodeProcesses.assertNotDowned(b, "B");
    NodeProcesses.assertNotDowned(c, "C");
    processes.assertNoInstabilityDowning();
    processes.assertNoOlderRunTaskFailed();
    for (NodeProcesses.Node node : processes.all()) {
      assertTrue(
          node.lines().stream()
              .noneMatch(
                  line ->
                      line.contains("Failed to persist")
                          || line.contains("Rejected to persist")
                          || line.contains("duplicate key")
                          || line.contains(" could not write to ")
                          || line.contains(" cannot read its journal ")
                          || line.contains("Another writer stored")),
          "no journal write was refused (" + node.args() + "):\n" + node.tail(40));
    }

    // the journal: one writer at a time per persistence id; every writer that began before B's
    // sequencer started (A's) ended before it, and A's process was gone before any later writer
    // (B's) wrote
    long bStarted =
        firstAt(b, line -> line.contains("Sequencer run ") && line.contains(" starting"), 0);
    assertTrue(bStarted > cutAt, "B's sequencer started after the cut:\n" + b.tail(60));
    List<Writes> writes = journalWriters(database);
    for (Writes one : writes) {
      for (Writes other : writes) {
        if (one != other && one.persistenceId().equals(other.persistenceId())) {
          assertFalse(
              one.overlaps(other),
              "two writers of " + one.persistenceId() + " at the same time: " + one + ", " + other);
        }
      }
    }
    List<Writes> aWrites = writes.stream().filter(w -> w.first() < bStarted).toList();
    List<Writes> bWrites = writes.stream().filter(w -> w.first() >= bStarted).toList();
    assertTrue(
        aWrites.stream().anyMatch(w -> w.persistenceId().equals("prover-results")),
        "A stored results: " + writes);
    assertTrue(
        bWrites.stream().anyMatch(w -> w.persistenceId().equals("prover-results")),
        "B stored results of its own: " + writes);
    long aLast = aWrites.stream().mapToLong(Writes::last).max().orElseThrow();
    long bFirst = bWrites.stream().mapToLong(Writes::first).min().orElseThrow();
    assertTrue(
        aLast < bStarted,
        "A's last write ("
            + seconds(aLast, cutAt)
            + " after the cut) came before B's sequencer started ("
            + seconds(bStarted, cutAt)
            + "): "
            + writes);
    assertTrue(
        aExit < bFirst,
        "every writer that began after B's sequencer started is B's: A's process ("
            + seconds(aExit, cutAt)
            + ") was gone before the first of them wrote ("
            + seconds(bFirst, cutAt)
            + "): "
            + writes);
    long aWritesAfterCut = eventsMadeBetween(database, cutAt, bStarted);
    assertTrue(
        aWritesAfterCut > 0,
        "A's side wrote to the journal after the cut (else the drill did not race the two"
            + " sequencers): "
            + writes);
    System.out.printf(
        "NetworkPartitionIT, A (sequencer) and W1 split off, the journal reachable from both"
            + " sides: A downed itself, out with 3 at %s (%.1f s after it learned it was downed),"
            + " its last journal write at %s (%d event(s) written after the cut); W1 out at %s"
            + " (worker processes downed after the network was back: %d);"
            + " B's sequencer started at %s, its first write at %s; the network back at %s; B's"
            + " RESULT OK %s after that, %s batch proof(s) and %s result(s) reused; writers %s%n",
        seconds(aExit, cutAt),
        aExitAfterDowning / 1000.0,
        seconds(aLast, cutAt),
        aWritesAfterCut,
        seconds(exits.get(0).at(), cutAt),
        w1DownedAgain,
        seconds(bStarted, cutAt),
        seconds(bFirst, cutAt),
        seconds(healedAt, cutAt),
        seconds(firstAt(b, line -> line.equals("== summary =="), healedAt), healedAt),
        reused.group(1),
        reused.group(2),
        writes);
  }
}
