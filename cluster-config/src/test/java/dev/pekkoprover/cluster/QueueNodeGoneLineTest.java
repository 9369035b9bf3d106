package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverNode;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a worker node says while no queue node is up ({@code WaitingForPeers}) after the last one
 * shut down: that it left, and what to start. After a job's sequencer node exited, its workers'
 * lines named instead the trap of a queue node that formed a cluster of its own (a new user's trial
 * of the README), where the queue node had only left as it should. (A downed queue node keeps the
 * lines as they were; in one JVM the split-brain resolver downed the whole test cluster after a
 * downing, so that case has no test here.)
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueueNodeGoneLineTest {
  /** Only a place for the log expectations to run: the appender sees every system's events. */
  private final ActorTestKit anchor = ActorTestKit.create("queue-gone-anchor");

  private static final String WAITING = "prover.cluster.report-waiting-every = 300ms";

  @AfterAll
  void stop() {
    anchor.shutdownTestKit();
  }

  @Test
  void aQueueNodeThatShutDownIsNamedAsHavingLeftWithWhatToStart() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode queue = cluster.start("A", "queue", "", b -> b.catalog(TestNodes.catalog()));
      ProverNode worker =
          cluster.start("B", "worker", WAITING, b -> b.catalog(TestNodes.catalog()));
      String queueNode = hostPort(queue);
      String workerNode = hostPort(worker);
      ClusterNodes.leave(queue);
      // the next line once the queue node has shut down (it came once a second meanwhile)
      LoggingTestKit.info(
              "the last one, "
                  + queueNode
                  + ", left the cluster (it shut down); start one with --roles queue and --seeds"
                  + " naming a node of this cluster, such as "
                  + workerNode)
          .withMessageRegex("no node with role queue is up for \\d+ s: .*")
          .expect(anchor.system(), () -> null);
    }
  }

  private static String hostPort(ProverNode node) {
    return ProverNode.hostPort(Cluster.get(node.system()).selfMember().address());
  }
}
