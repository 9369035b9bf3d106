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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 * leaves the cluster; killed if it has not exited 15 s later, or 3 s after it said it left: {@link
 * WorkerProcess#close}), and a shutdown hook kills any still running when the harness exits.
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
    if (overrides.isBlank()) {
      return keyOverrides;
    }
    // the concise rendering is one JSON object, which HOCON takes only as a whole document: after
    // other lines its fields go without the braces
    return overrides + "\n" + keyOverrides.substring(1, keyOverrides.length() - 1);
  }

  /**
   * Starts a worker node process joined to {@code node}; returns at once (see {@link
   * WorkerProcess#awaitReady}).
   */
  WorkerProcess launchWorker(ProverNode node, String name, WorkerGroup workers) {
    return WorkerProcess.launch(node, name, workers, withKeys(config.overrides()));
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
}
