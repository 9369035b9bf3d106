package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.ProverNode;
import java.time.Duration;
import java.util.Optional;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;

/**
 * A worker node on an island (Up in a cluster without a stateful member, while a seed of its runs a
 * cluster of its own) leaves for that cluster: the rule on a given clock, the seed's answer, the
 * line, and two real actor systems in one JVM over Artery, where the island is made as Pekko makes
 * it: the worker node is the first of its seeds and forms a cluster alone when the other seed does
 * not answer within {@code seed-node-timeout}. The launcher's exit code and the rejoin of real
 * processes: {@code IslandIT}.
 */
class IslandWatchTest {
  private static final long S = 1_000_000_000L;

  @Test
  void aWorkerNodeIsDueToAskItsSeedsOnlyOnceUpWithoutAStatefulMemberForTheWholeWait() {
    IslandWatch.Rule rule = new IslandWatch.Rule(Duration.ofSeconds(10));
    assertFalse(rule.due(false, false, 0), "not Up yet: nothing to leave");
    assertFalse(rule.due(true, false, 1 * S), "the wait starts");
    assertFalse(rule.due(true, false, 10 * S), "9 s");
    assertEquals(9, rule.seconds(10 * S));
    assertTrue(rule.due(true, false, 11 * S), "10 s");
    // a stateful node joins (the only one, restarted, rejoining through this node): the wait ends
    assertFalse(rule.due(true, true, 12 * S));
    assertEquals(0, rule.seconds(12 * S));
    assertFalse(rule.due(true, false, 13 * S), "starts again");
    assertFalse(rule.due(true, false, 22 * S));
    assertTrue(rule.due(true, false, 23 * S));
  }

  @Test
  void onlyASeedUpWithRoleStatefulRunsAClusterToJoin() {
    assertTrue(new IslandWatch.Answer("h:1", "Up", true, 1).runsACluster());
    assertTrue(new IslandWatch.Answer("h:1", "WeaklyUp", true, 1).runsACluster());
    // a sequencer node on its way out, its process still running, or one still joining
    for (String status : new String[] {"Joining", "Leaving", "Exiting", "Removed", "Down"}) {
      assertFalse(new IslandWatch.Answer("h:1", status, true, 1).runsACluster(), status);
    }
    assertFalse(new IslandWatch.Answer("h:1", "Up", false, 3).runsACluster(), "a worker node");
  }

  @Test
  void theLineNamesTheSeedWhyAndTheExitCode() {
    assertEquals(
        "node 127.0.0.1:2712 has been in a cluster without a stateful node for 10 s, while its"
            + " seed 127.0.0.1:2711 is Up in a cluster of its own (1 member(s)): that seed formed it"
            + " when this node did not answer its join in time (pekko.cluster.seed-node-timeout)."
            + " This node leaves and exits with code 3 so that its process supervisor restarts it;"
            + " it then joins that cluster through its seeds",
        IslandWatch.line(
            "127.0.0.1:2712", 10, new IslandWatch.Answer("127.0.0.1:2711", "Up", true, 1)));
    assertEquals(
        new NodeExit.Outcome(
            3,
            "node 127.0.0.1:2712 left its cluster, which had no stateful node, for the one its seed"
                + " 127.0.0.1:2711 runs: exiting with code 3 so that a process supervisor restarts"
                + " it into that cluster"),
        NodeExit.outcome(
            Optional.of(new IslandWatch.LeftIsland("127.0.0.1:2711")),
            "127.0.0.1:2712",
            true,
            "stable-after = 7s"));
  }

  @Test
  void theWaitIsASettingThatZeroTurnsOff() {
    assertEquals(
        Duration.ofSeconds(10), IslandWatch.after(ConfigFactory.load("cluster")), "shipped");
    assertThrows(
        ConfigException.BadValue.class,
        () ->
            IslandWatch.after(
                ConfigFactory.parseString("prover.cluster.leave-island-after = -1s")));
  }

  @Test
  void aWorkerNodeFormedAloneLeavesForTheClusterItsStatefulSeedRuns() throws Exception {
    int workerPort = NodeProcesses.freePort();
    int seedPort = NodeProcesses.freePort();
    String prefix = "pekko://" + ClusterNodes.SYSTEM + "@127.0.0.1:";
    // the worker node is the first of its seeds; nothing answers at the other yet, so it forms a
    // cluster alone after seed-node-timeout (the island, as a busy host's slow handshake makes it)
    ActorTestKit worker =
        ActorTestKit.create(
            ClusterNodes.SYSTEM,
            ClusterNodes.config(
                NodeLauncher.WORKER_ROLE,
                "pekko.remote.artery.canonical.port = "
                    + workerPort
                    + "\npekko.cluster.seed-node-timeout = 1s"
                    + "\npekko.cluster.seed-nodes = [\""
                    + prefix
                    + workerPort
                    + "\", \""
                    + prefix
                    + seedPort
                    + "\"]"));
    ActorTestKit seed =
        ActorTestKit.create(
            ClusterNodes.SYSTEM,
            ClusterNodes.config(
                ProverNode.QUEUE_ROLE + ", " + ProverNode.STATEFUL_ROLE,
                "pekko.remote.artery.canonical.port = " + seedPort));
    try {
      awaitUpAlone(worker);
      Cluster seedCluster = Cluster.get(seed.system());
      seedCluster.manager().tell(Join.create(seedCluster.selfMember().address()));
      awaitUpAlone(seed);
      IslandWatch.startProbe(seed.system());
      IslandWatch.startProbe(worker.system());

      // the seed's answer, asked over the network from the other cluster (serialised both ways)
      TestProbe<IslandWatch.Answer> answers = worker.createTestProbe();
      answers.awaitAssert(
          Duration.ofSeconds(10),
          () -> {
            Adapter.toClassic(worker.system())
                .actorSelection(prefix + seedPort + "/system/" + IslandWatch.PROBE_NAME)
                .tell(
                    new IslandWatch.Ask(answers.ref()), org.apache.pekko.actor.ActorRef.noSender());
            assertEquals(
                new IslandWatch.Answer("127.0.0.1:" + seedPort, "Up", true, 1),
                answers.receiveMessage(Duration.ofSeconds(1)));
            return null;
          });

      // the seed node does not leave (it is stateful); the worker node does, for the seed's cluster
      IslandWatch.start(seed.system(), Duration.ofSeconds(1));
      IslandWatch.start(worker.system(), Duration.ofSeconds(1));
      worker
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                assertEquals(
                    Optional.of(new IslandWatch.LeftIsland("127.0.0.1:" + seedPort)),
                    CoordinatedShutdown.get(worker.system()).getShutdownReason());
                return null;
              });
      assertEquals(Optional.empty(), CoordinatedShutdown.get(seed.system()).getShutdownReason());
    } finally {
      worker.shutdownTestKit();
      seed.shutdownTestKit();
    }
  }

  private static void awaitUpAlone(ActorTestKit node) {
    Cluster cluster = Cluster.get(node.system());
    node.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(MemberStatus.up(), cluster.selfMember().status());
              assertEquals(1, cluster.state().members().size());
              return null;
            });
  }
}
