package dev.pekkoprover.bench;

import com.typesafe.config.Config;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The worker node of the cross-process deployment ({@link ClusterDeployment}): a cluster member
 * with role {@code worker} only, serving the bench task types, joined to the bench node. {@link
 * ClusterDeployment} starts it as a process of its own and reads its stdout:
 *
 * <pre>
 * NODE pekko://bench@127.0.0.1:40123      its cluster address, once its actor system runs
 * ECHO pekko://bench@127.0.0.1:40123/system/bench-echo#123   a bare echo actor ({@link BareRoundTrip#echo})
 * METRICS on                              whether its meters are on (prover.metrics.enabled, from --conf)
 * UP 1764143403023456                     wall clock (microseconds since the epoch) when it sees itself Up
 * READY 1764143403123456                  wall clock when every worker is Ready
 * </pre>
 *
 * <p>It leaves the cluster and exits when its stdin ends: when the harness closes it, and also when
 * the harness dies in any way (the pipe closes with the parent), so no worker process outlives a
 * run.
 *
 * <pre>{@code
 * java -cp bench/target/bench.jar dev.pekkoprover.bench.BenchWorkerNode --seed pekko://bench@127.0.0.1:40000 \
 *     --node-id w1 --workers 1 --concurrency 64 [--types a,b] [--conf HOCON]
 * }</pre>
 */
public final class BenchWorkerNode {
  private BenchWorkerNode() {}

  public static void main(String[] args) throws Exception {
    String seed = null;
    String nodeId = "bench-worker";
    int workers = 1;
    int concurrency = 1;
    List<String> types = List.of();
    String conf = "";
    for (int i = 0; i + 1 < args.length; i += 2) {
      String value = args[i + 1];
      switch (args[i]) {
        case "--seed" -> seed = value;
        case "--node-id" -> nodeId = value;
        case "--workers" -> workers = Integer.parseInt(value);
        case "--concurrency" -> concurrency = Integer.parseInt(value);
        case "--types" -> types = value.isBlank() ? List.of() : List.of(value.split(","));
        case "--conf" -> conf = value;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (seed == null) {
      throw new IllegalArgumentException("--seed <address of the bench node> is required");
    }
    Config config = ClusterDeployment.nodeConfig(conf, List.of("worker"), seed);
    ProverNode node =
        ProverNode.builder(ClusterDeployment.SYSTEM)
            .nodeId(nodeId)
            .config(config)
            .catalog(BenchTasks.catalog())
            .clusterQueue()
            .workers(WorkerGroup.of(workers, new ArrayList<>(types), concurrency))
            .start();
    System.out.println("NODE " + Cluster.get(node.system()).selfMember().address());
    // the bare echo beside the framework, so that the harness can time the transport in this very
    // pair of JVMs, interleaved with its tasks (the sequential latency workload)
    ActorRef<BareRoundTrip.Ping> echo =
        node.system().systemActorOf(BareRoundTrip.echo(), "bench-echo", Props.empty());
    System.out.println("ECHO " + ActorRefResolver.get(node.system()).toSerializationFormat(echo));
    System.out.println("METRICS " + (ProverMetrics.get(node.system()).enabled() ? "on" : "off"));
    System.out.flush();
    org.apache.pekko.cluster.Cluster.get(Adapter.toClassic(node.system()))
        .registerOnMemberUp(
            () -> {
              System.out.println("UP " + epochMicros());
              System.out.flush();
            });
    node.ready()
        .thenRun(
            () -> {
              System.out.println("READY " + epochMicros());
              System.out.flush();
            });
    // the harness stops waiting for the process shortly after this line (see WorkerProcess#close);
    // only said once this node is out of the cluster (its leave may also have timed out)
    CoordinatedShutdown.get(node.system())
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "bench-say-left",
            () -> {
              if (Cluster.get(node.system()).selfMember().status() == MemberStatus.removed()) {
                System.out.println("LEFT " + epochMicros());
                System.out.flush();
              }
              return CompletableFuture.completedFuture(Done.getInstance());
            });
    Thread watchdog =
        new Thread(
            () -> {
              drain(System.in);
              // stdin ended: the harness is done with this node (or gone); leave the cluster and
              // stop
              CoordinatedShutdown.get(node.system()).runAll(CoordinatedShutdown.unknownReason());
            },
            "stdin-watch");
    watchdog.setDaemon(true);
    watchdog.start();
    try {
      node.system().getWhenTerminated().toCompletableFuture().get(365, TimeUnit.DAYS);
    } finally {
      System.exit(0);
    }
  }

  /**
   * Wall clock in microseconds since the epoch: comparable with the bench node's clock on the same
   * machine.
   */
  static long epochMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }

  private static void drain(InputStream in) {
    byte[] buffer = new byte[256];
    try {
      while (in.read(buffer) >= 0) {
        // nothing is sent on stdin; only its end matters
      }
    } catch (IOException ignored) {
      // a broken pipe is an end too
    }
  }
}
