package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.pekkoprover.node.ProverNode;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;

/**
 * With the appchain's journal in memory, a stopping node says what is lost only if the chain runs
 * on it: the oldest node with role sequencer hosts the chain's singleton, and a standby's stop
 * loses nothing (its line names the node that keeps the chain).
 */
class AppchainStandbyStopTest {

  @Test
  void onlyTheOldestSequencerNodeHostsTheChain() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode first =
          cluster.start("A", "sequencer,queue", "", b -> b.catalog(TestNodes.catalog()));
      ProverNode standby =
          cluster.start("B", "sequencer,queue", "", b -> b.catalog(TestNodes.catalog()));
      var oldest = Cluster.get(first.system()).selfMember().address();
      ActorTestKit.create(standby.system())
          .createTestProbe()
          .awaitAssert(
              () -> {
                assertNull(AppchainService.chainHostElsewhere(first.system()));
                assertEquals(
                    oldest.getHost().orElseThrow() + ":" + oldest.getPort().orElseThrow(),
                    AppchainService.chainHostElsewhere(standby.system()));
                return null;
              });
    }
  }
}
