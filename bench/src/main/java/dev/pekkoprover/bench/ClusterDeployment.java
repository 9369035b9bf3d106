package dev.pekkoprover.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import dev.pekkoprover.cluster.ClusterKeys;
import dev.pekkoprover.node.ClusterTls;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.StartupPlan;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The worker in a separate process, joined over loopback: this JVM runs a cluster node with roles
 * {@code sequencer} and {@code queue} (the sequencer singleton and every queue entity), and the
 * workers run in a {@link BenchWorkerNode} process with role {@code worker}, started from the same
 * class path and JVM flags. Every task crosses the loopback twice (dispatch, result) through the
 * framework's batching ({@code DispatchAll}, {@code Reports}) and its payload check. The workloads
 * run unchanged on the node this returns.
 *
 * <p>Both nodes bind port 0 (the operating system picks a free one; the worker seeds from the bench
 * node's actual address). The worker process is stopped when the node closes (stdin closed: it
 * leaves the cluster; killed if it has not exited 15 s later), and a shutdown hook kills any still
 * running when the harness exits.
 *
 * <p>The worker's JVM gets the harness's heap and {@code -XX} flags (not a flight recording: that
 * file is the harness's), plus the system property {@code bench.worker.java-opts} split at spaces,
 * in which {@code {n}} becomes the worker process's number, e.g. {@code
 * -Dbench.worker.java-opts=-XX:StartFlightRecording=filename=w{n}.jfr}.
 */
record ClusterDeployment(BenchConfig config, Journal journal) implements Deployment {
  /** The actor system name of every node of the bench cluster (a cluster's nodes must share it). */
  static final String SYSTEM = "bench";

  /**
   * Time for a worker process to start, join and get its workers registered (a cold JVM on a busy
   * machine).
   */
  private static final long READY_TIMEOUT_S = 90;

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final AtomicInteger STARTED = new AtomicInteger();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "kill-workers"));
  }

  @Override
  public String name() {
    return "cluster";
  }

  @Override
  public BenchNode start(String name, WorkerGroup workers) {
    // the journal is the sequencer's: the bench node's (a worker node has none, as in a real
    // cluster)
    Journal.Opened store =
        journal.open(
            nodeConfig(
                config.overrides(),
                List.of(ProverNode.SEQUENCER_ROLE, ProverNode.QUEUE_ROLE),
                null));
    ProverNode node = startBenchNode(name, store.config());
    WorkerProcess worker = null;
    try {
      worker = launchWorker(node, name, workers);
      worker.awaitReady(READY_TIMEOUT_S);
      awaitRegistered(node, worker.workerIds(), 30);
      boolean here = ProverMetrics.get(node.system()).enabled();
      boolean there = worker.metricsEnabled(10);
      if (here != there) {
        throw new IllegalStateException(
            "metrics "
                + (here ? "on" : "off")
                + " in the bench node but "
                + (there ? "on" : "off")
                + " in the worker process: --conf did not reach both");
      }
      return new BenchNode(node, worker, store.cleanup());
    } catch (RuntimeException | Error e) {
      if (worker != null) {
        worker.close();
      }
      node.close();
      throw e;
    }
  }

  /** The bench node alone: sequencer and queue, Up and its start-up done, no worker yet. */
  private ProverNode startBenchNode(String name, Config nodeConfig) {
    ProverNode node =
        ProverNode.builder(SYSTEM)
            .nodeId("bench-" + name)
            .config(nodeConfig)
            .catalog(BenchTasks.catalog())
            .clusterQueue()
            .sequencer(StartupPlan.fixed(JvmDeployment.REGISTRATION))
            .start();
    try {
      Cluster cluster = Cluster.get(node.system());
      cluster
          .manager()
          .tell(
              Join.create(cluster.selfMember().address())); // the first node: a cluster of its own
      Harness.await(node.ready(), 60);
      return node;
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
  }

  /**
   * A node's configuration: the harness's {@code --conf} overrides, {@code bench.conf} (logging),
   * roles, port 0 and seed, then the cluster deployment's shipped {@code cluster.conf}.
   */
  static Config nodeConfig(String overrides, List<String> roles, String seed) {
    String placement =
        "pekko.cluster.roles = ["
            + String.join(",", roles)
            + "]\n"
            + "pekko.remote.artery.canonical.hostname = \"127.0.0.1\"\n"
            + "pekko.remote.artery.canonical.port = 0\n"
            + "pekko.cluster.seed-nodes = ["
            + (seed == null ? "" : "\"" + seed + "\"")
            + "]\n";
    // loaded with ClusterTls.load: prover.tls.* in the overrides must reach Pekko's TLS engine
    return ClusterTls.load(
        ConfigFactory.parseString(withKeys(overrides))
            .withFallback(ConfigFactory.parseResources("bench.conf"))
            .withFallback(ConfigFactory.parseString(placement)));
  }

  private static String keyOverrides;

  /**
   * {@code overrides} plus, when the bench cluster runs TLS (cluster.conf's default; the harness's
   * {@code --tls off} turns it off) and they name no usable key files, the files of one key set
   * made for this harness JVM in a temporary directory (every node of the bench cluster uses the
   * same node certificate). The worker process gets the result in its {@code --conf}.
   */
  static synchronized String withKeys(String overrides) {
    Config probe = ClusterTls.load(ConfigFactory.parseString(overrides));
    if (!ClusterTls.enabled(probe) || ClusterTls.engineFiles(probe).problem() == null) {
      return overrides;
    }
    if (keyOverrides == null) {
      try {
        Path dir = Files.createTempDirectory("bench-tls-");
        ClusterKeys.makeKeySet(dir, SYSTEM, 1, 1);
        keyOverrides =
            ClusterTls.NodeFiles.inDirectory(dir.resolve("node-1"))
                .config()
                .root()
                .render(ConfigRenderOptions.concise());
      } catch (IOException e) {
        throw new IllegalStateException(
            "could not make the bench cluster's TLS keys: " + e.getMessage(), e);
      }
    }
    return overrides.isBlank() ? keyOverrides : overrides + "\n" + keyOverrides;
  }

  /**
   * Starts a worker node process joined to {@code node}; returns at once (see {@link
   * WorkerProcess#awaitReady}).
   */
  WorkerProcess launchWorker(ProverNode node, String name, WorkerGroup workers) {
    int n = STARTED.incrementAndGet();
    String nodeId = "w" + n + "-" + name;
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(workerJvmOptions(n));
    command.addAll(
        List.of(
            "-cp",
            classPath(),
            BenchWorkerNode.class.getName(),
            "--seed",
            Cluster.get(node.system()).selfMember().address().toString(),
            "--node-id",
            nodeId,
            "--workers",
            String.valueOf(workers.count()),
            "--concurrency",
            String.valueOf(workers.concurrency()),
            "--types",
            String.join(",", workers.taskTypes()),
            "--conf",
            withKeys(config.overrides())));
    List<String> workerIds = new ArrayList<>();
    for (int i = 1; i <= workers.count(); i++) {
      workerIds.add(nodeId + "-w" + i); // ProverNode names its workers <nodeId>-w1, -w2, ...
    }
    try {
      Process process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      LIVE.add(process);
      return new WorkerProcess(
          process, nodeId, workerIds, System.nanoTime(), BenchWorkerNode.epochMicros());
    } catch (IOException e) {
      throw new IllegalStateException("could not start the worker process: " + command, e);
    }
  }

  /** Waits until the sequencer's registration loop lists every one of these workers. */
  static void awaitRegistered(ProverNode node, List<String> workerIds, long seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      List<String> registered = Harness.await(node.registrationStatus(), 10).registeredWorkers();
      if (registered.containsAll(workerIds)) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "workers "
                + workerIds
                + " not registered within "
                + seconds
                + " s; registered: "
                + registered);
      }
      try {
        Thread.sleep(5); // the harness polls at the edge; no actor thread waits
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  /**
   * The wall-clock time (microseconds since the epoch, {@link BenchWorkerNode#epochMicros}) at
   * which this node saw each member Up, by address. Subscribe before the member can join.
   */
  static Map<String, CompletableFuture<Long>> memberUpTimes(ProverNode node) {
    Map<String, CompletableFuture<Long>> upAt = new ConcurrentHashMap<>();
    ActorRef<ClusterEvent.MemberUp> listener =
        node.system()
            .systemActorOf(
                Behaviors.receive(ClusterEvent.MemberUp.class)
                    .onMessage(
                        ClusterEvent.MemberUp.class,
                        up -> {
                          long now = BenchWorkerNode.epochMicros();
                          upAt.computeIfAbsent(
                                  up.member().address().toString(), a -> new CompletableFuture<>())
                              .complete(now);
                          return Behaviors.same();
                        })
                    .build(),
                "bench-member-up-listener",
                Props.empty());
    Cluster.get(node.system())
        .subscriptions()
        .tell(Subscribe.create(listener, ClusterEvent.MemberUp.class));
    // the subscription is in place once this node's own Up (the initial state, replayed as an
    // event) comes back
    Address self = Cluster.get(node.system()).selfMember().address();
    Harness.await(upAt.computeIfAbsent(self.toString(), a -> new CompletableFuture<>()), 10);
    return upAt;
  }

  /**
   * The harness's heap and -XX flags (no flight recording, no agent), then {@code
   * bench.worker.java-opts}.
   */
  private static List<String> workerJvmOptions(int n) {
    List<String> options =
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(
                a ->
                    a.startsWith("-Xm")
                        || a.startsWith("-Xss")
                        || (a.startsWith("-XX:") && !a.contains("FlightRecord"))
                        || a.startsWith("-Dbench.loglevel"))
            .collect(Collectors.toCollection(ArrayList::new));
    String extra = System.getProperty("bench.worker.java-opts", "").trim();
    if (!extra.isEmpty()) {
      for (String option : extra.split("\\s+")) {
        options.add(option.replace("{n}", String.valueOf(n)));
      }
    }
    return options;
  }

  /**
   * The harness's own class path (bench.jar when run with -jar; the test class path under Maven).
   */
  static String classPath() {
    String explicit = System.getProperty("bench.worker.classpath");
    if (explicit != null) {
      return explicit;
    }
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null ? surefire : System.getProperty("java.class.path");
  }

  /**
   * A running worker node process: its output lines, its address and Ready time, and how to stop
   * it.
   */
  static final class WorkerProcess implements AutoCloseable {
    private final Process process;
    private final String nodeId;
    private final List<String> workerIds;
    private final long launchedNanos;
    private final long launchedMicros;
    private final CompletableFuture<String> address = new CompletableFuture<>();
    private final CompletableFuture<Long> upMicros = new CompletableFuture<>();
    private final CompletableFuture<Long> readyMicros = new CompletableFuture<>();
    private final CompletableFuture<Boolean> metrics = new CompletableFuture<>();

    WorkerProcess(
        Process process,
        String nodeId,
        List<String> workerIds,
        long launchedNanos,
        long launchedMicros) {
      this.process = process;
      this.nodeId = nodeId;
      this.workerIds = List.copyOf(workerIds);
      this.launchedNanos = launchedNanos;
      this.launchedMicros = launchedMicros;
      Thread reader = new Thread(this::readOutput, "worker-out-" + nodeId);
      reader.setDaemon(true);
      reader.start();
    }

    private void readOutput() {
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          if (line.startsWith("NODE ")) {
            address.complete(line.substring(5).trim());
          } else if (line.startsWith("UP ")) {
            upMicros.complete(Long.parseLong(line.substring(3).trim()));
          } else if (line.startsWith("METRICS ")) {
            metrics.complete(line.substring(8).trim().equals("on"));
          } else if (line.startsWith("READY ")) {
            readyMicros.complete(Long.parseLong(line.substring(6).trim()));
          } else {
            System.err.println("[" + nodeId + "] " + line);
          }
        }
      } catch (IOException | RuntimeException ignored) {
        // the process went away
      }
      IllegalStateException gone =
          new IllegalStateException(
              "worker process "
                  + nodeId
                  + " ended (exit "
                  + (process.isAlive() ? "?" : String.valueOf(process.exitValue()))
                  + ")");
      address.completeExceptionally(gone);
      upMicros.completeExceptionally(gone);
      readyMicros.completeExceptionally(gone);
      metrics.completeExceptionally(gone);
    }

    /**
     * Whether the worker process's metrics are on ({@code prover.metrics.enabled}, as its node has
     * it).
     */
    boolean metricsEnabled(long seconds) {
      return Harness.await(metrics, seconds);
    }

    /** Waits for the READY line; returns its wall clock in microseconds since the epoch. */
    long awaitReady(long seconds) {
      return Harness.await(readyMicros, seconds);
    }

    /** When it saw itself Up (wall clock, microseconds since the epoch). */
    long seenUpMicros(long seconds) {
      return Harness.await(upMicros, seconds);
    }

    /** Its cluster address, as its member's {@code address().toString()}. */
    String address(long seconds) {
      return Harness.await(address, seconds);
    }

    List<String> workerIds() {
      return workerIds;
    }

    long launchedNanos() {
      return launchedNanos;
    }

    long launchedMicros() {
      return launchedMicros;
    }

    long pid() {
      return process.pid();
    }

    /**
     * Closes its stdin (it leaves the cluster and exits); kills it if it is still there 15 s later.
     */
    @Override
    public void close() {
      try {
        process.getOutputStream().close();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
          System.err.println("# worker process " + nodeId + " did not leave within 15 s: killed");
        }
      } catch (IOException | InterruptedException e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
      } finally {
        process.destroyForcibly();
        try {
          process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        LIVE.remove(process);
      }
    }
  }
}
