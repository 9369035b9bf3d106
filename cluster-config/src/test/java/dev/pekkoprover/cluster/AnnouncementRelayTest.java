package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 14, item 4: a joining worker node's workers register through a queue node's front ({@link
 * dev.pekkoprover.protocol.QueueCommand.RelayOffer}), not through the node's own shard region
 * proxy, which the coordinator takes only once its node has seen the new member Up. Here the
 * joining node's proxy cannot route for minutes: its registration with the coordinator is refused
 * while it is Joining and its next attempt is 7.5 minutes later ({@code retry-interval = 1h}, the
 * first retry an eighth of it). Its worker still becomes Ready and proves, and keeps doing so after
 * the queue node it announced through leaves (it then announces through the other).
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AnnouncementRelayTest {
  private static final String PROXY_NEVER_TAKEN = "pekko.cluster.sharding.retry-interval = 1h";

  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  @Test
  void aJoiningNodesWorkerRegistersBeforeItsRegionProxyCanRoute() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode first = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode worker =
          cluster.start(
              "B",
              "worker",
              PROXY_NEVER_TAKEN,
              b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 2)));
      worker.ready().toCompletableFuture().get(20, TimeUnit.SECONDS); // throws if not Ready
      assertEquals(Num.of(30), sumOfSquares(sequencer, "first"), "sum of squares 1..4");
      assertEquals(Set.of("B-w1"), squaredBy(), "the only worker proved every square");

      // B announced through Q, the only queue node then; R's offer comes later and is not taken.
      // When Q leaves, its entities start again empty on R, and B must announce through R
      cluster.start("R", "queue", "", b -> b.catalog(catalog));
      ClusterNodes.leave(first);
      TestTasks.reset();
      assertEquals(Num.of(30), sumOfSquares(sequencer, "after-leave"), "after Q left");
      assertEquals(Set.of("B-w1"), squaredBy(), "B's worker is known on R");
    }
  }

  private static Num sumOfSquares(ProverNode sequencer, String flowId) {
    List<Num> leaves = List.of(Num.of(1), Num.of(2), Num.of(3), Num.of(4));
    return TestNodes.await(
        sequencer.run(
            flowId,
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
  }

  private static Set<String> squaredBy() {
    return TestTasks.runs.stream()
        .filter(run -> run.taskType().equals("square"))
        .map(TestTasks.Run::workerId)
        .collect(Collectors.toSet());
  }
}
