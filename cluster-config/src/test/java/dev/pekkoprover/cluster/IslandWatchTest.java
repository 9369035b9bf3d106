package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.ProverNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
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
    assertTrue(new IslandWatch.Answer("h:1", "Up", true, 1, false, false, 1).leavesAskerOutside());
    assertTrue(new IslandWatch.Answer("h:1", "WeaklyUp", true, 1, false, false, 1).runsACluster());
    // a sequencer node on its way out, its process still running, or one still joining
    for (String status : new String[] {"Joining", "Leaving", "Exiting", "Removed", "Down"}) {
      assertFalse(new IslandWatch.Answer("h:1", status, true, 1, false, false, 1).runsACluster());
    }
    assertFalse(
        new IslandWatch.Answer("h:1", "Up", true, 1, true, false, 1).runsACluster(),
        "Up, but shutting down (its workers drain first)");
    assertFalse(
        new IslandWatch.Answer("h:1", "Up", false, 3, false, false, 0).runsACluster(), "a worker");
    assertFalse(
        new IslandWatch.Answer("h:1", "Up", true, 2, false, true, 1).leavesAskerOutside(),
        "it has let the asker in: the asker's view is only late");
  }

  @Test
  void aStatefulNodeLeavesOnlyForAClusterWithMoreStatefulNodes() {
    IslandWatch.Answer twoStateful = new IslandWatch.Answer("h:1", "Up", true, 5, false, false, 2);
    assertTrue(IslandWatch.leavesFor(true, 1, twoStateful), "1 of 3: the minority leaves");
    assertFalse(IslandWatch.leavesFor(true, 2, twoStateful), "a tie: both stay");
    assertFalse(IslandWatch.leavesFor(true, 3, twoStateful), "the majority stays");
    assertFalse(
        IslandWatch.leavesFor(
            true, 1, new IslandWatch.Answer("h:1", "Up", true, 5, false, true, 2)),
        "that cluster holds this node already");
    assertFalse(
        IslandWatch.leavesFor(
            true, 1, new IslandWatch.Answer("h:1", "Up", true, 5, false, false, 0)),
        "an older build's answer, without the count");
    assertTrue(IslandWatch.leavesFor(false, 0, twoStateful), "a worker node leaves as before");
    assertTrue(
        IslandWatch.statefulLine("127.0.0.1:2551", 1, twoStateful)
            .startsWith(
                "node 127.0.0.1:2551 is in a cluster with 1 stateful node(s), while its seed h:1 is"
                    + " Up in a cluster of its own with 2 (5 member(s))"));
    assertEquals(
        new NodeExit.Outcome(
            3,
            "node 127.0.0.1:2551 left its cluster, which had fewer stateful nodes than the one its"
                + " seed h:1 runs: exiting with code 3 so that a process supervisor restarts it into"
                + " that cluster"),
        NodeExit.outcome(
            Optional.of(new IslandWatch.LeftIsland("h:1", true)),
            "127.0.0.1:2551",
            true,
            "stable-after = 7s"));
  }

  @Test
  void theLineNamesTheSeedWhyAndTheExitCode() {
    IslandWatch.Answer seed =
        new IslandWatch.Answer("127.0.0.1:2711", "Up", true, 1, false, false, 1);
    assertEquals(
        "node 127.0.0.1:2712 has been in a cluster without a stateful node for 10 s, while its"
            + " seed 127.0.0.1:2711 is Up in a cluster of its own (1 member(s)): that seed formed it"
            + " when this node did not answer its join in time (pekko.cluster.seed-node-timeout)."
            + " This node leaves and exits with code 3 so that its process supervisor restarts it;"
            + " it then joins that cluster through its seeds",
        IslandWatch.line("127.0.0.1:2712", 10, seed, 0));
    assertTrue(
        IslandWatch.line("127.0.0.1:2712", 10, seed, 2)
            .contains(
                " This node downs the 2 other node(s) of its cluster (none is stateful), so that"
                    + " they restart into it too, then leaves and exits with code 3 "));
    assertEquals(
        new NodeExit.Outcome(
            3,
            "node 127.0.0.1:2712 left its cluster, which had no stateful node, for the one its seed"
                + " 127.0.0.1:2711 runs: exiting with code 3 so that a process supervisor restarts"
                + " it into that cluster"),
        NodeExit.outcome(
            Optional.of(new IslandWatch.LeftIsland("127.0.0.1:2711", false)),
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

  private static final String PREFIX = "pekko://" + ClusterNodes.SYSTEM + "@127.0.0.1:";

  /** A node of {@code roles} at {@code port} whose seeds are {@code seedPorts}, in that order. */
  private static ActorTestKit node(String roles, int port, int... seedPorts) {
    StringBuilder seeds = new StringBuilder();
    for (int seed : seedPorts) {
      seeds
          .append(seeds.length() == 0 ? "" : ", ")
          .append('"')
          .append(PREFIX)
          .append(seed)
          .append('"');
    }
    return ActorTestKit.create(
        ClusterNodes.SYSTEM,
        ClusterNodes.config(
            roles,
            "pekko.remote.artery.canonical.port = "
                + port
                + "\npekko.cluster.seed-node-timeout = 1s"
                + "\npekko.cluster.seed-nodes = ["
                + seeds
                + "]"));
  }

  /**
   * Two worker nodes on an island (the first of their seeds formed it alone) beside a stateful seed
   * that runs a cluster of its own: both leave it, the one that finds the seed first downing the
   * other, so that a restarted one cannot join the island again. The stateful seed, whose own seeds
   * name a node that never runs, starts no watch and stays.
   */
  @Test
  void workerNodesFormedAloneLeaveForTheClusterTheirStatefulSeedRuns() throws Exception {
    int workerPort = NodeProcesses.freePort();
    int secondWorkerPort = NodeProcesses.freePort();
    int seedPort = NodeProcesses.freePort();
    int nobody = NodeProcesses.freePort();
    // the first worker node is the first of its seeds; nothing answers at the other yet, so it
    // forms a cluster alone after seed-node-timeout (the island, as a busy host's slow handshake
    // makes it); the second joins it
    ActorTestKit worker = node(NodeLauncher.WORKER_ROLE, workerPort, workerPort, seedPort);
    ActorTestKit secondWorker =
        node(NodeLauncher.WORKER_ROLE, secondWorkerPort, workerPort, seedPort);
    ActorTestKit seed = null;
    try {
      awaitUp(worker, 2);
      seed =
          node(ProverNode.QUEUE_ROLE + ", " + ProverNode.STATEFUL_ROLE, seedPort, seedPort, nobody);
      awaitUp(seed, 1);
      for (ActorTestKit node : List.of(worker, secondWorker, seed)) {
        IslandWatch.startProbe(node.system());
      }

      // the seed's answer, asked over the network from the other cluster (serialised both ways)
      TestProbe<IslandWatch.Answer> answers = worker.createTestProbe();
      String asker = PREFIX + workerPort;
      long askerUid = Cluster.get(worker.system()).selfMember().uniqueAddress().longUid();
      answers.awaitAssert(
          Duration.ofSeconds(10),
          () -> {
            Adapter.toClassic(worker.system())
                .actorSelection(PREFIX + seedPort + "/system/" + IslandWatch.PROBE_NAME)
                .tell(
                    new IslandWatch.Ask(answers.ref(), asker, askerUid),
                    org.apache.pekko.actor.ActorRef.noSender());
            assertEquals(
                new IslandWatch.Answer("127.0.0.1:" + seedPort, "Up", true, 1, false, false, 1),
                answers.receiveMessage(Duration.ofSeconds(1)));
            return null;
          });
      // the worker's own cluster knows it: asked of its island's other member
      TestProbe<IslandWatch.Answer> fromIsland = worker.createTestProbe();
      Adapter.toClassic(worker.system())
          .actorSelection(PREFIX + secondWorkerPort + "/system/" + IslandWatch.PROBE_NAME)
          .tell(
              new IslandWatch.Ask(fromIsland.ref(), asker, askerUid),
              org.apache.pekko.actor.ActorRef.noSender());
      IslandWatch.Answer islander = fromIsland.receiveMessage(Duration.ofSeconds(10));
      assertTrue(islander.knowsAsker() && !islander.runsACluster(), islander.toString());
      // another incarnation at the same address (a restarted node the cluster still holds the
      // old one of) is not known; an ask without an incarnation (an older build) goes by address
      assertFalse(
          IslandWatch.answerOf(secondWorker.system(), asker, askerUid + 1).knowsAsker(),
          "another incarnation");
      assertTrue(IslandWatch.answerOf(secondWorker.system(), asker, 0).knowsAsker(), "no uid");

      // the stateful seed watches too, but its other seed never runs: it stays
      assertTrue(IslandWatch.start(seed.system(), Duration.ofSeconds(1)), "a stateful node");
      assertTrue(IslandWatch.start(worker.system(), Duration.ofSeconds(1)));
      // the second runs no watch of its own: it goes because the first downs it
      // (probes of the seed's system: the workers' end as they shut down)
      assertShutDownFor(seed, worker, new IslandWatch.LeftIsland("127.0.0.1:" + seedPort, false));
      assertShutDownFor(seed, secondWorker, CoordinatedShutdown.clusterDowningReason());
      assertEquals(Optional.empty(), CoordinatedShutdown.get(seed.system()).getShutdownReason());
    } finally {
      worker.shutdownTestKit();
      secondWorker.shutdownTestKit();
      if (seed != null) {
        seed.shutdownTestKit();
      }
    }
  }

  /**
   * A stateful node on an island beside a cluster with more stateful nodes (the first of its seeds,
   * restarted while the others ran, formed a cluster alone: a trial's sequencer node did so, its
   * second sequencer writing to the same database): it leaves for that cluster, whose nodes stay.
   */
  @Test
  void aStatefulNodeFormedAloneLeavesForTheClusterWithMoreStatefulNodes() throws Exception {
    int islandPort = NodeProcesses.freePort();
    int bPort = NodeProcesses.freePort();
    int cPort = NodeProcesses.freePort();
    String stateful = ProverNode.QUEUE_ROLE + ", " + ProverNode.STATEFUL_ROLE;
    // B and C form the cluster (B names the island's node among its seeds, after itself)
    ActorTestKit b = node(stateful, bPort, bPort, islandPort);
    ActorTestKit c = node(stateful, cPort, bPort, cPort);
    ActorTestKit island = null;
    try {
      awaitUp(b, 2);
      awaitUp(c, 2);
      // the island: its node is the first of its seeds, and its other seed (B) is given as one
      // that never answers in time, as a busy host's late answer makes it
      island =
          ActorTestKit.create(
              ClusterNodes.SYSTEM,
              ClusterNodes.config(
                  stateful,
                  "pekko.remote.artery.canonical.port = "
                      + islandPort
                      + "\npekko.cluster.seed-node-timeout = 1s"
                      + "\npekko.cluster.seed-nodes = [\""
                      + PREFIX
                      + islandPort
                      + "\"]"));
      awaitUp(island, 1);
      for (ActorTestKit node : List.of(b, c, island)) {
        IslandWatch.startProbe(node.system());
      }
      IslandWatch.Answer fromB =
          IslandWatch.answerOf(
              b.system(),
              PREFIX + islandPort,
              Cluster.get(island.system()).selfMember().uniqueAddress().longUid());
      assertEquals(2, fromB.statefulMembers());
      assertTrue(fromB.leavesAskerOutside(), fromB.toString());

      assertTrue(IslandWatch.start(b.system(), Duration.ofSeconds(1)));
      // the island's node learns of B through a seed list naming it (its own gave none to ask)
      ActorTestKit islandNode = island;
      assertTrue(
          IslandWatch.startWithSeeds(
              islandNode.system(),
              Duration.ofSeconds(1),
              List.of(org.apache.pekko.actor.AddressFromURIString.parse(PREFIX + bPort))));
      assertShutDownFor(b, island, new IslandWatch.LeftIsland("127.0.0.1:" + bPort, true));
      assertEquals(Optional.empty(), CoordinatedShutdown.get(b.system()).getShutdownReason());
      assertEquals(Optional.empty(), CoordinatedShutdown.get(c.system()).getShutdownReason());
    } finally {
      b.shutdownTestKit();
      c.shutdownTestKit();
      if (island != null) {
        island.shutdownTestKit();
      }
    }
  }

  private static void assertShutDownFor(
      ActorTestKit probes, ActorTestKit node, CoordinatedShutdown.Reason reason) {
    probes
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            () -> {
              assertEquals(
                  Optional.of(reason), CoordinatedShutdown.get(node.system()).getShutdownReason());
              return null;
            });
  }

  private static void awaitUp(ActorTestKit node, int members) {
    Cluster cluster = Cluster.get(node.system());
    node.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              assertEquals(MemberStatus.up(), cluster.selfMember().status());
              assertEquals(members, cluster.state().members().size());
              return null;
            });
  }
}
