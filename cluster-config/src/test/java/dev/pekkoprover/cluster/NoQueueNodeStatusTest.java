package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The status of a worker node with no queue node in its cluster (a new user's trial: the sequencer
 * node had left) says why it shows no worker, instead of "only 0 of 2 queue entities answered in
 * time", and gives its timeouts in seconds, not as "PT5S".
 */
class NoQueueNodeStatusTest {
  /** A worker-only node, the first of its cluster: no queue node in it. */
  private static ProverNode workerAlone(ClusterNodes cluster, String overrides) {
    return cluster.start(
        "W",
        "worker",
        overrides,
        b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 2)));
  }

  @Test
  void aWorkerNodeWithoutAQueueNodeSaysWhyItsStatusShowsNoWorker() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode worker =
          workerAlone(cluster, "prover.http.enabled = on\nprover.http.status-timeout = 1s");
      Http.Answer answer = Http.get(worker.httpUrl().orElseThrow() + "/status");
      assertEquals(200, answer.status(), answer.body());
      StatusReport report = StatusReport.fromJson(answer.body());
      assertEquals(
          List.of(
              "no node with role queue is Up and reachable: workers and queues come from the"
                  + " queue's entities, so none show here (this node's own workers are in its"
                  + " /metrics, prover_workers)",
              "no sequencer runs in the cluster now (none is listed: it has not started yet, or"
                  + " it ended): no flows"),
          report.problems(),
          answer.body());
      assertTrue(report.workers().isEmpty(), answer.body());
    }
  }

  /**
   * Asked for the fleet or the stats while no queue node is Up, a node's queue front answers at
   * once with none of the entities: a sequencer node started before its queue node waits so as a
   * matter of course, and its log already says it. Before, each ask waited out the stats timeout in
   * the shard region's buffer, and the first logged {@code fleet view (queue entities): 0 of 9
   * answered in 3 s} as a WARN; no gathering times out now, so none logs it. With a stats timeout
   * of 60 s, an answer within the node's own 10 s ask ({@code join} is bounded by it) shows that
   * nothing waited for it: without the change the ask times out.
   */
  @Test
  void theQueueAskedWhileNoQueueNodeIsUpAnswersAtOnceWithNoEntity() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode worker = workerAlone(cluster, "prover.queue.cluster.stats-timeout = 60s");
      FleetView fleet = worker.fleet().toCompletableFuture().join();
      assertEquals(0, fleet.answered(), fleet.toString());
      assertEquals(TestNodes.catalog().names().size(), fleet.asked(), fleet.toString());
      assertTrue(fleet.workers().isEmpty(), fleet.toString());
      QueueStats stats = worker.queueStats().toCompletableFuture().join();
      assertEquals(Map.of(), stats.types());
    }
  }
}
