package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Worker ids are unique by construction: two cluster nodes assembled without {@code .nodeId(...)}
 * (same actor system name, as every node of a cluster) name their workers after their own cluster
 * address, and a worker added later follows the same rule; in one JVM the system name stays the
 * default.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerIdsTest {

  @Test
  void twoClusterNodesWithoutANodeIdNameTheirWorkersAfterTheirAddresses() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode first =
          cluster.start(
              null,
              "queue,worker",
              "",
              b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 1)));
      ProverNode second =
          cluster.start(
              null,
              "worker",
              "",
              b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 1)));
      String firstAddress = ProverNode.hostPort(Cluster.get(first.system()).selfMember().address());
      String secondAddress =
          ProverNode.hostPort(Cluster.get(second.system()).selfMember().address());
      assertNotEquals(firstAddress, secondAddress);

      assertEquals(List.of(firstAddress + "-w1"), List.copyOf(first.workers().keySet()));
      assertEquals(List.of(secondAddress + "-w1"), List.copyOf(second.workers().keySet()));
      assertEquals(secondAddress + "-w2", TestNodes.await(second.addWorker(List.of(), 1)));
    }
  }

  @Test
  void inOneJvmTheSystemNameNamesTheWorkers() {
    try (ProverNode node =
        TestNodes.node("embedded", "").workers(WorkerGroup.allTypes(2, 1)).start()) {
      assertEquals(Set.of("embedded-w1", "embedded-w2"), node.workers().keySet());
    }
  }
}
