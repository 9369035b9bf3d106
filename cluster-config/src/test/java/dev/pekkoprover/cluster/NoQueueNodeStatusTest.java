package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.node.WorkerGroup;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The status of a worker node with no queue node in its cluster (a new user's trial: the sequencer
 * node had left) says why it shows no worker, instead of "only 0 of 2 queue entities answered in
 * time", and gives its timeouts in seconds, not as "PT5S".
 */
class NoQueueNodeStatusTest {
  @Test
  void aWorkerNodeWithoutAQueueNodeSaysWhyItsStatusShowsNoWorker() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode worker =
          cluster.start(
              "W",
              "worker",
              "prover.http.enabled = on\nprover.http.status-timeout = 1s",
              b -> b.catalog(TestNodes.catalog()).workers(WorkerGroup.allTypes(1, 2)));
      Http.Answer answer = Http.get(worker.httpUrl().orElseThrow() + "/status");
      assertEquals(200, answer.status(), answer.body());
      StatusReport report = StatusReport.fromJson(answer.body());
      assertEquals(
          List.of(
              "no node with role queue is Up and reachable: workers and queues come from the"
                  + " queue's entities, so none show here (this node's own workers are in its"
                  + " /metrics, prover_workers)",
              "no sequencer answered within 1 s (none running, or still starting): no flows"),
          report.problems(),
          answer.body());
      assertTrue(report.workers().isEmpty(), answer.body());
    }
  }
}
