package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.Leave;

/**
 * Several cluster nodes in one JVM (same actor system name, port 0), with timings shortened so that
 * downing and redelivery happen within a test. Closes every node it started.
 */
final class ClusterNodes implements AutoCloseable {
  static final String SYSTEM = "prover-cluster";

  static final String FAST_CLUSTER =
      """
      pekko.remote.artery.canonical.port = 0
      pekko.cluster.split-brain-resolver.stable-after = 2s
      pekko.cluster.failure-detector.acceptable-heartbeat-pause = 2s
      pekko.cluster.failure-detector.heartbeat-interval = 500ms
      pekko.cluster.unreachable-nodes-reaper-interval = 250ms
      pekko.cluster.gossip-interval = 200ms
      pekko.cluster.leader-actions-interval = 200ms
      pekko.cluster.sharding.retry-interval = 200ms
      pekko.cluster.sharding.distributed-data.majority-min-cap = 1
      prover.queue.default-lease = 20s
      prover.queue.lease-check-interval = 200ms
      prover.queue.retry.min-backoff = 20ms
      prover.queue.retry.max-backoff = 100ms
      prover.worker.restart.min-backoff = 50ms
      prover.worker.restart.max-backoff = 200ms
      prover.worker.announce-interval = 1s
      prover.sequencer.resend-after = 30s
      """;

  private final List<ProverNode> nodes = new ArrayList<>();
  private Address seed;

  static Config config(String roles, String overrides) {
    return ConfigFactory.parseString(overrides)
        .withFallback(ConfigFactory.parseString("pekko.cluster.roles = [" + roles + "]"))
        // several nodes in one JVM over loopback: plain tcp (the real-process tests run the shipped
        // TLS)
        .withFallback(ConfigFactory.parseString("pekko.remote.artery.transport = tcp"))
        .withFallback(ConfigFactory.parseString(FAST_CLUSTER))
        .withFallback(ConfigFactory.parseString(TestConfig.TEST_SETTINGS))
        .withFallback(ConfigFactory.load("cluster"));
  }

  /** Starts a node with these roles and joins it to the first node started (which joins itself). */
  ProverNode start(
      String nodeId, String roles, String overrides, UnaryOperator<ProverNode.Builder> parts) {
    ProverNode node =
        parts
            .apply(
                ProverNode.builder(SYSTEM)
                    .nodeId(nodeId)
                    .config(config(roles, overrides))
                    .clusterQueue())
            .start();
    Cluster cluster = Cluster.get(node.system());
    if (seed == null) {
      seed = cluster.selfMember().address();
    }
    cluster.manager().tell(Join.create(seed));
    nodes.add(node);
    awaitUp(node);
    return node;
  }

  static void awaitUp(ProverNode node) {
    ActorTestKit kit = ActorTestKit.create(node.system());
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              if (Cluster.get(node.system()).selfMember().status() != MemberStatus.up()) {
                throw new AssertionError("not Up yet: " + Cluster.get(node.system()).selfMember());
              }
              return null;
            });
  }

  /**
   * Stops a node the way SIGTERM does ({@code CoordinatedShutdown} with the JVM-exit reason: its
   * shard regions hand off first, then it leaves the cluster), and waits up to 30 s for it.
   */
  static void terminate(ProverNode node) {
    CoordinatedShutdown.get(node.system())
        .runAll(CoordinatedShutdown.jvmExitReason())
        .toCompletableFuture()
        .orTimeout(30, java.util.concurrent.TimeUnit.SECONDS)
        .exceptionally(e -> null)
        .join();
    node.close();
  }

  /**
   * Holds the node's shutdown, once begun, in the phase of its shard regions' hand-off (a task of
   * that phase, so the hand-off itself runs) until the returned future is completed: the node stays
   * Up with its front alive meanwhile. Complete it in a {@code finally}.
   */
  static CompletableFuture<Done> holdAfterHandOff(ProverNode node) {
    CompletableFuture<Done> window = new CompletableFuture<>();
    CoordinatedShutdown.get(node.system())
        .addTask(
            CoordinatedShutdown.PhaseClusterShardingShutdownRegion(),
            "test-hold-after-hand-off",
            () -> window);
    return window;
  }

  /** Leaves the cluster gracefully and stops the node. */
  static void leave(ProverNode node) {
    Cluster cluster = Cluster.get(node.system());
    cluster.manager().tell(Leave.create(cluster.selfMember().address()));
    node.system()
        .getWhenTerminated()
        .toCompletableFuture()
        .orTimeout(30, java.util.concurrent.TimeUnit.SECONDS)
        .exceptionally(e -> null)
        .join();
    node.close();
  }

  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close();
    }
  }
}
