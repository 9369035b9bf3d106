package dev.pekkoprover.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Real node processes started from the runnable jar with the shipped configuration (only the heap
 * is capped; TLS on, with this JVM's key set, {@link #withTls}), each with its output (stdout and
 * stderr) gathered line by line, every line with the wall-clock time it arrived. {@link #close}
 * kills and awaits every process started and, when given a directory, writes every node's output
 * there (one file per process, also when the test failed).
 */
final class NodeProcesses implements AutoCloseable {

  /**
   * A bounded wait for {@code what} (named in the timeout's message): checked at once, then every
   * {@code every}, for at most {@code atMost}: the shape of the module tests' waits.
   */
  static ConditionFactory polling(String what, Duration atMost, Duration every) {
    return await(what).atMost(atMost).pollDelay(Duration.ZERO).pollInterval(every);
  }

  /**
   * Logback's {@code %d{HH:mm:ss.SSS} %-5level} at the start of a log line (cluster-config's
   * logback.xml).
   */
  private static final Pattern LOG_TIME = Pattern.compile("^(\\d{2}:\\d{2}:\\d{2}\\.\\d{3}) ");

  private static final long DAY_MILLIS = TimeUnit.DAYS.toMillis(1);

  /** One line of a node's output and when it was written (epoch millis). */
  record Line(long arrived, String text) {
    /**
     * When the node wrote it: the log line's own timestamp (same host, same clock; its date taken
     * from the arrival) or, for a line without one (stdout), when it arrived here.
     */
    long millis() {
      Matcher time = LOG_TIME.matcher(text);
      if (!time.lookingAt()) {
        return arrived;
      }
      ZonedDateTime arrival = Instant.ofEpochMilli(arrived).atZone(ZoneId.systemDefault());
      long logged = arrival.with(LocalTime.parse(time.group(1))).toInstant().toEpochMilli();
      if (logged - arrived > DAY_MILLIS / 2) {
        return logged - DAY_MILLIS; // written before midnight, read after
      }
      return arrived - logged > DAY_MILLIS / 2 ? logged + DAY_MILLIS : logged;
    }

    boolean isLogLine() {
      return LOG_TIME.matcher(text).lookingAt();
    }
  }

  /**
   * One node process, the command prefix (e.g. {@code ip netns exec <namespace>}, or none), JVM
   * options and arguments it was started with, and its output so far.
   */
  record Node(
      Process process,
      List<String> prefix,
      List<String> jvmOptions,
      List<String> args,
      Queue<String> lines,
      Queue<Line> timed,
      Thread reader) {
    String output() {
      return String.join("\n", lines);
    }

    /**
     * The last {@code n} lines, for assertion messages (the whole output goes to the log
     * directory).
     */
    String tail(int n) {
      List<String> all = new ArrayList<>(lines);
      return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size()));
    }

    /** The value given to {@code --flag}, or null. */
    String arg(String flag) {
      int at = args.indexOf(flag);
      return at < 0 || at + 1 >= args.size() ? null : args.get(at + 1);
    }

    /**
     * Waits up to {@code seconds} for the process to end and its last lines to be read; false if it
     * still runs.
     */
    boolean awaitExit(long seconds) throws InterruptedException {
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
        return false;
      }
      reader.join(TimeUnit.SECONDS.toMillis(5));
      return true;
    }

    /**
     * Waits up to {@code seconds} (polling every 100 ms) for a line that passes {@code test}; false
     * if none came. Once the process has ended it waits no longer than for the reader to read the
     * last lines (up to 5 s).
     */
    boolean awaitLine(Predicate<String> test, long seconds) throws InterruptedException {
      try {
        polling(
                "a line of node " + process.pid() + "'s output that passes the test, or its exit",
                Duration.ofSeconds(seconds),
                Duration.ofMillis(100))
            .until(() -> lines.stream().anyMatch(test) || !process.isAlive());
      } catch (ConditionTimeoutException stillRunningWithoutOne) {
        return lines.stream().anyMatch(test);
      }
      if (lines.stream().anyMatch(test)) {
        return true;
      }
      reader.join(TimeUnit.SECONDS.toMillis(5)); // it ended: its last lines are still being read
      return lines.stream().anyMatch(test);
    }

    /** The lines that pass {@code test}, with their times. */
    List<Line> linesWhere(Predicate<String> test) {
      return timed.stream().filter(line -> test.test(line.text())).toList();
    }
  }

  private final List<Node> started = new ArrayList<>();
  private final Path logDirectory;

  /**
   * @param logDirectory where {@link #close} writes every node's output ({@link #logDirectory}), so
   *     that a failed run can be read afterwards; null: nowhere
   */
  NodeProcesses(Path logDirectory) {
    this.logDirectory = logDirectory;
    // made here, before a test starts timing anything, rather than at the first launch
    classArchive(System.getProperty("prover.jar", "target/prover-node.jar"));
  }

  /** Every process started so far, in start order (replacements included). */
  synchronized List<Node> all() {
    return List.copyOf(started);
  }

  /**
   * The next port {@link #freePort} tries; below Linux's ephemeral range (32768-60999 by default).
   */
  private static final AtomicInteger NEXT_PORT =
      new AtomicInteger(20_000 + (int) (ProcessHandle.current().pid() % 1_000) * 12);

  /**
   * A port that is free now, for a node's {@code --port} or {@code --http-port}. Taken below the
   * ephemeral range and never twice from one test JVM: a port the OS handed out for bind(0) and the
   * test then closed can be handed out again to a node binding port 0 (its HTTP endpoints by
   * default) before the node meant to get it binds it, which once made a queue node fail on
   * "Address already in use" (QueueNodeLossIT).
   */
  static int freePort() throws IOException {
    for (int tries = 0; tries < 5_000; tries++) {
      int port = NEXT_PORT.getAndIncrement();
      if (port >= 32_000) {
        NEXT_PORT.set(20_000);
        continue;
      }
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress("127.0.0.1", port));
        return port;
      } catch (IOException inUse) {
        // taken by another process: the next one
      }
    }
    throw new IOException("no free port between 20000 and 32000");
  }

  /**
   * The two lines of Pekko 1.7's rare wait without a deadline while the actor system terminates
   * (Artery's stream to a peer that is already gone; apache/pekko#3317 bounds it in a later
   * release): CoordinatedShutdown's phase timeout, then {@code Termination}'s line that the process
   * ends anyway. Rare (fresh-clone CI runs of 2026-12-01 and 2026-12-04 hit it, in {@code
   * FaultFreeClusterIT} and {@code WorkerDrainIT}), while a node leaves; the node has left the
   * cluster by then and exits with code 0, which the tests check. Any other WARN during the exit
   * still fails them.
   */
  static boolean upstreamTerminateStall(String line) {
    return line.contains("Coordinated shutdown phase [actor-system-terminate] timed out")
        || line.contains(" did not finish terminating within ");
  }

  /** A directory under target/ for one test's node outputs. */
  static Path logDirectory(String test) {
    return Path.of(System.getProperty("prover.jar", "target/prover-node.jar"))
        .toAbsolutePath()
        .getParent()
        .resolve("it-logs")
        .resolve(test);
  }

  Node launch(String... args) throws IOException {
    return launch(List.of(), List.of(args));
  }

  /** A node with role worker on a free port that joins through {@code seeds} (host:port,...). */
  Node launchWorker(String seeds) throws IOException {
    return launch("node", "--roles", "worker", "--port", "" + freePort(), "--seeds", seeds);
  }

  /** A node process that ended on its own: its exit code and when (epoch millis). */
  record Exit(Node node, int code, long at) {}

  /**
   * Acts as the nodes' process supervisor (systemd's {@code Restart=on-failure}): every node of
   * {@code nodes} whose process has ended is added to {@code exits} and, when its code is not 0,
   * started again with its own command in its place in the array.
   */
  void restartExited(Node[] nodes, List<Exit> exits) throws IOException, InterruptedException {
    for (int i = 0; i < nodes.length; i++) {
      Node node = nodes[i];
      if (!node.process().isAlive()) {
        assertTrue(node.awaitExit(10));
        int code = node.process().exitValue();
        exits.add(new Exit(node, code, System.currentTimeMillis()));
        System.out.printf("node %s (%s) exited with %d%n", node.arg("--port"), node.args(), code);
        if (code != 0) {
          nodes[i] = relaunch(node);
        }
      }
    }
  }

  /** Starts the same command again, as a process supervisor would. */
  Node relaunch(Node node) throws IOException {
    return launch(node.prefix(), node.jvmOptions(), node.args());
  }

  synchronized Node launch(List<String> jvmOptions, List<String> args) throws IOException {
    return launch(List.of(), jvmOptions, args);
  }

  /**
   * @param jvmOptions besides the heap cap, e.g. {@code -Dprover.appchain.circuit-seed=x}: system
   *     properties override the node's configuration; {@code -cp <class path>} runs the launcher's
   *     main class from that class path (the runnable jar and a plugin's) instead of {@code -jar}
   * @param prefix the command the JVM is started through, which must exec it in its own place (its
   *     process is the JVM's: signals reach the node), e.g. {@code ip netns exec <namespace>}
   *     ({@link NetworkNamespaces}); empty: none
   */
  synchronized Node launch(List<String> prefix, List<String> jvmOptions, List<String> args)
      throws IOException {
    // absolute: the class archive holds the path it was made with
    String jar =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar"))
            .toAbsolutePath()
            .toString();
    assertTrue(Files.exists(Path.of(jar)), "the runnable jar is built by package: " + jar);
    List<String> command = new ArrayList<>(prefix);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.addAll(jvmOptions);
    if (!jvmOptions.contains("-cp")) {
      // -jar launches only: a -cp launch's class path is the test's own, and one the archive was
      // not
      // made for would put a CDS warning into the node's output
      command.addAll(classArchive(jar));
      command.add("-jar");
      command.add(jar);
    } else {
      command.add(NodeLauncher.class.getName());
    }
    command.addAll(withTls(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    Queue<String> lines = new ConcurrentLinkedQueue<>();
    Queue<Line> timed = new ConcurrentLinkedQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                  timed.add(new Line(System.currentTimeMillis(), line));
                  lines.add(line);
                }
              } catch (IOException ignored) {
                // the process went away
              }
            });
    reader.setDaemon(true);
    Node node =
        new Node(
            process,
            List.copyOf(prefix),
            List.copyOf(jvmOptions),
            List.copyOf(args),
            lines,
            timed,
            reader);
    started.add(node);
    reader.start();
    return node;
  }

  /**
   * {@code args} with {@code --tls <dir>} of this test JVM's key set added when they start a {@code
   * node} and give neither {@code --tls} nor {@code --no-tls}: every node runs the shipped
   * configuration, TLS on.
   */
  static List<String> withTls(List<String> args) {
    if (args.isEmpty()
        || !args.get(0).equals("node")
        || args.contains("--tls")
        || args.contains("--no-tls")) {
      return args;
    }
    List<String> withTls = new ArrayList<>(args);
    withTls.add("--tls");
    withTls.add(nodeTlsDir().toString());
    return withTls;
  }

  /** {@link #classArchive}'s answer, once per JVM; null until asked. */
  private static List<String> classArchiveOptions;

  /**
   * The JVM options that start a node with the classes of a node's start-up mapped from an AppCDS
   * archive (JDK 17's dynamic archive, {@code -XX:SharedArchiveFile}) instead of loaded and
   * verified one by one: about 0.9 s less per node start on this 2-core machine (2.3 s to 1.4 s
   * from launch to Up for a queue node, measured 2026-12-04), and the tests start about 90 node
   * processes. It changes nothing a node does: no configuration, only where its classes come from.
   * The archive is made once for the jar (target/prover-node.jsa, made again when the jar is
   * newer): a one-node cluster with every role proves 2 blocks and exits, with {@code
   * -XX:ArchiveClassesAtExit}; then a JVM with {@code -Xshare:on}, which fails when the archive
   * cannot be mapped, checks it. Should either step fail, the nodes start without it, and one line
   * says why. {@code -Dprover.test.class-archive=off} turns it off. Asked for by the first
   * constructor of this JVM (about 8 s once), so that no test's own timing includes it.
   */
  static synchronized List<String> classArchive(String jar) {
    if (classArchiveOptions == null) {
      classArchiveOptions = makeClassArchive(Path.of(jar).toAbsolutePath());
    }
    return classArchiveOptions;
  }

  private static List<String> makeClassArchive(Path jar) {
    if ("off".equals(System.getProperty("prover.test.class-archive"))) {
      return List.of();
    }
    Path archive = jar.resolveSibling("prover-node.jsa");
    Path log = jar.resolveSibling("it-logs").resolve("class-archive.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    try {
      Files.createDirectories(log.getParent());
      if (!Files.exists(archive)
          || Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) < 0) {
        Files.deleteIfExists(archive);
        // written under another name and moved once the run ended well: a failed run leaves no
        // archive that a later test JVM would take for a good one
        Path made = jar.resolveSibling("prover-node.jsa.tmp");
        Files.deleteIfExists(made);
        int port = freePort();
        List<String> dump = new ArrayList<>();
        dump.addAll(
            List.of(java, "-Xmx256m", "-XX:ArchiveClassesAtExit=" + made, "-jar", jar.toString()));
        dump.addAll(
            withTls(
                List.of(
                    "node",
                    "--roles",
                    "sequencer,queue,worker",
                    "--port",
                    "" + port,
                    "--seeds",
                    "127.0.0.1:" + port,
                    "--blocks",
                    "2",
                    "--exit-when-done")));
        int code = run(dump, log, 180);
        if (code != 0 || !Files.exists(made)) {
          Files.deleteIfExists(made);
          System.out.println(
              "# no class archive for the node processes (the one-node run ended with "
                  + code
                  + ", see "
                  + log
                  + "): they start without it");
          return List.of();
        }
        Files.move(made, archive, StandardCopyOption.ATOMIC_MOVE);
      }
      String use = "-XX:SharedArchiveFile=" + archive;
      int check =
          run(List.of(java, "-Xshare:on", use, "-jar", jar.toString(), "--version"), log, 60);
      if (check != 0) {
        Files.deleteIfExists(archive); // the next test JVM makes it again
        System.out.println(
            "# the class archive "
                + archive
                + " cannot be used (-Xshare:on ended with "
                + check
                + ", see "
                + log
                + "): the node processes start without it");
        return List.of();
      }
      return List.of(use);
    } catch (IOException e) {
      System.out.println(
          "# no class archive for the node processes (" + e + "): they start without it");
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  /**
   * Runs {@code command} with its output appended to {@code log}; its exit code, or -1 when it was
   * still running after {@code seconds}. The process is killed and awaited unless it ended.
   */
  private static int run(List<String> command, Path log, long seconds)
      throws IOException, InterruptedException {
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    try {
      return process.waitFor(seconds, TimeUnit.SECONDS) ? process.exitValue() : -1;
    } finally {
      if (process.isAlive()) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private static Path keySet;

  /**
   * This test JVM's key set ({@link ClusterKeys#makeKeySet}, cluster name {@code prover}, made once
   * per JVM under target/): {@code ca.crt}, {@code ca.key} and node directories; every node of a
   * test uses the same node directory (a certificate names the cluster, not the node's address).
   */
  static synchronized Path keySet() {
    if (keySet == null) {
      Path target =
          Path.of(System.getProperty("prover.jar", "target/prover-node.jar"))
              .toAbsolutePath()
              .getParent();
      Path dir =
          target
              .resolve("it-keys")
              .resolve(ProcessHandle.current().pid() + "-" + System.nanoTime());
      try {
        ClusterKeys.makeKeySet(dir, NodeLauncher.SYSTEM, 1, 1);
      } catch (IOException e) {
        throw new IllegalStateException("could not make the test key set in " + dir, e);
      }
      keySet = dir;
    }
    return keySet;
  }

  /** The node directory (tls.key, tls.crt, ca.crt) every node of this JVM's tests starts with. */
  static Path nodeTlsDir() {
    return keySet().resolve("node-1");
  }

  /**
   * SIGSTOP (ProcessHandle can only terminate a process): the process is frozen, its sockets stay
   * open.
   */
  static void pause(Process process) throws IOException, InterruptedException {
    signal("-STOP", process);
  }

  /** SIGCONT: a paused process runs on. */
  static void resume(Process process) throws IOException, InterruptedException {
    signal("-CONT", process);
  }

  private static void signal(String signal, Process process)
      throws IOException, InterruptedException {
    Process kill =
        new ProcessBuilder("kill", signal, Long.toString(process.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill " + signal + " ended");
    assertEquals(0, kill.exitValue(), "kill " + signal + " " + process.pid());
  }

  /** A sequencer's progress line: {@code proving: blocks <proven>/<of the job> proven ...}. */
  private static final Pattern PROGRESS = Pattern.compile("^proving: blocks (\\d+)/(\\d+) proven");

  /** The blocks proven by the last progress line of {@code sequencer}, -1 before the first. */
  static int provenBlocks(Node sequencer) {
    int proven = -1;
    for (String line : sequencer.lines()) {
      Matcher progress = PROGRESS.matcher(line);
      if (progress.find()) {
        proven = Integer.parseInt(progress.group(1));
      }
    }
    return proven;
  }

  /** A progress line that shows at least one block proven and at least one still to prove. */
  static boolean midRun(String line) {
    return midRun(line, 1);
  }

  /**
   * A progress line that shows at least one block proven and at least {@code blocksLeft} still to
   * prove.
   */
  static boolean midRun(String line, int blocksLeft) {
    Matcher progress = PROGRESS.matcher(line);
    return progress.find()
        && Integer.parseInt(progress.group(1)) >= 1
        && Integer.parseInt(progress.group(1)) <= Integer.parseInt(progress.group(2)) - blocksLeft;
  }

  /**
   * {@code node} (at {@code hostPort}) said once, in the launcher's one line, that the cluster
   * downed it and that it exits with code 3 for its supervisor.
   */
  static void assertDownedOnce(Node node, String hostPort) {
    long lines =
        node.lines().stream()
            .filter(
                line ->
                    line.startsWith("node " + hostPort + " was downed by the cluster (")
                        && line.endsWith(
                            ": exiting with code 3 so that a process supervisor restarts it"))
            .count();
    assertEquals(1, lines, "node " + hostPort + " said once that it was downed:\n" + node.tail(30));
  }

  /**
   * Neither the launcher's line nor the split-brain resolver's says that {@code node} was downed.
   */
  static void assertNotDowned(Node node, String which) {
    assertTrue(
        node.lines().stream()
            .noneMatch(
                line ->
                    line.contains("was downed by the cluster")
                        || line.contains("including myself")),
        which + " was not downed:\n" + node.tail(60));
  }

  /** No node's split-brain resolver downed every node ("detected instability"). */
  void assertNoInstabilityDowning() {
    for (Node node : all()) {
      assertTrue(
          node.lines().stream().noneMatch(line -> line.contains("detected instability")),
          "the split-brain resolver never downs everything (" + node.args() + ")");
    }
  }

  /**
   * No node failed a task for good because its run was over: after a takeover every queue entity
   * gives the older run's tasks up when the newer run starts, rather than handing them to workers
   * registered for the newer run (the worker's reason, "... that run is over", is in its WARN and
   * in the queue's ERROR).
   */
  void assertNoOlderRunTaskFailed() {
    for (Node node : all()) {
      List<String> failed =
          node.lines().stream().filter(line -> line.contains("that run is over")).toList();
      assertTrue(
          failed.isEmpty(),
          "no task of an older run failed for good (" + node.args() + "):\n" + failed);
    }
  }

  /**
   * The sequencer's summary says RESULT OK, with the proven state root and last block equal to the
   * direct ones.
   */
  static void assertResultOk(Node sequencer, int blocks) {
    String output = sequencer.output();
    assertTrue(output.contains("RESULT OK"), "RESULT OK:\n" + sequencer.tail(60));
    assertTrue(output.contains(String.format("blocks            %d", blocks)), output);
    assertEquals(
        summaryValue(sequencer, "direct state root"),
        summaryValue(sequencer, "proven state root"),
        "the proven state root is the direct one");
    assertEquals(
        summaryValue(sequencer, "direct last block"),
        summaryValue(sequencer, "proven last block"),
        "the proven last block hash is the direct one");
    assertTaskCountsMatchTheChain(sequencer, blocks);
  }

  private static final Pattern TRANSACTIONS =
      Pattern.compile("(?m)^transactions +(\\d+) \\(refused");
  private static final Pattern TYPE_COUNT = Pattern.compile("(?m)^  (\\w+) +(\\d+)( reused)?$");
  private static final Pattern RESTORED =
      Pattern.compile("(?m)^restored +(\\d+) block\\(s\\) of (\\d+) transaction\\(s\\)");

  /**
   * The summary's tasks per type are the chain's, whatever moved meanwhile (an operator's churn
   * trial saw them go back after a queue node was lost: they were the queue entities' counters).
   * Each accepted transaction is one {@code RuntimeProvingTask} and one {@code BlockProvingTask},
   * each block one {@code NewBlockTask}: computed, or reused from the store; less the blocks and
   * transactions of whole batch proofs that came from the store (their tasks never ran), which the
   * summary's {@code restored} line gives.
   */
  static void assertTaskCountsMatchTheChain(Node sequencer, int blocks) {
    assertTaskCountsMatchTheChain(sequencer.output(), blocks);
  }

  /** As {@link #assertTaskCountsMatchTheChain(Node, int)}, on a run's whole output. */
  static void assertTaskCountsMatchTheChain(String output, int blocks) {
    String summary = output.substring(output.lastIndexOf("== summary =="));
    Matcher transactions = TRANSACTIONS.matcher(summary);
    assertTrue(transactions.find(), summary);
    long accepted = Long.parseLong(transactions.group(1));
    long blocksRun = blocks;
    Matcher restored = RESTORED.matcher(summary);
    if (restored.find()) {
      blocksRun -= Long.parseLong(restored.group(1));
      accepted -= Long.parseLong(restored.group(2));
    }
    Map<String, Long> done = new HashMap<>();
    Matcher type = TYPE_COUNT.matcher(summary);
    while (type.find()) {
      done.merge(type.group(1), Long.parseLong(type.group(2)), Long::sum);
    }
    assertEquals(
        accepted, done.getOrDefault("RuntimeProvingTask", 0L), "one per transaction:\n" + summary);
    assertEquals(
        accepted, done.getOrDefault("BlockProvingTask", 0L), "one per transaction:\n" + summary);
    assertEquals(blocksRun, done.getOrDefault("NewBlockTask", 0L), "one per block:\n" + summary);
  }

  private static String summaryValue(Node sequencer, String label) {
    String value =
        sequencer.lines().stream()
            .filter(line -> line.startsWith(label + " "))
            .map(line -> line.substring(label.length()).trim())
            .reduce((first, second) -> second)
            .orElse(null);
    assertNotNull(value, "the summary has '" + label + "':\n" + sequencer.tail(40));
    assertTrue(value.matches("[0-9a-f]{64}"), label + " is a hash: " + value);
    return value;
  }

  /**
   * Kills every process started and waits (30 s each) for it to end; interrupted, it fails with the
   * flag kept.
   */
  @Override
  public synchronized void close() {
    try {
      for (Node node : started) {
        node.process().descendants().forEach(ProcessHandle::destroyForcibly);
        node.process().destroyForcibly();
      }
      for (Node node : started) {
        Process process = node.process();
        assertTrue(
            process.waitFor(30, TimeUnit.SECONDS), "process " + process.pid() + " did not end");
        assertFalse(process.isAlive());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the node processes to end", e);
    } finally {
      saveOutputs();
    }
  }

  private void saveOutputs() {
    if (logDirectory == null) {
      return;
    }
    try {
      Files.createDirectories(logDirectory);
      try (var previous = Files.newDirectoryStream(logDirectory, "*.log")) { // an earlier run's
        for (Path file : previous) {
          Files.delete(file);
        }
      }
      for (int i = 0; i < started.size(); i++) {
        Node node = started.get(i);
        String name =
            node.arg("--roles") == null // another command than node: named after it
                ? String.format(
                    "%02d-%s.log", i + 1, node.args().isEmpty() ? "java" : node.args().get(0))
                : String.format(
                    "%02d-%s-%s.log",
                    i + 1, node.arg("--roles").replace(',', '+'), node.arg("--port"));
        Files.write(
            logDirectory.resolve(name), new ArrayList<>(node.lines()), StandardCharsets.UTF_8);
      }
      System.out.println("node outputs: " + logDirectory);
    } catch (IOException e) {
      System.out.println("could not write the node outputs to " + logDirectory + ": " + e);
    }
  }
}
