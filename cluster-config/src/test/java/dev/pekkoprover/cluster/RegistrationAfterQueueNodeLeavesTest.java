package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.WorkerRegistrationFlow;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 8, item 5: the registration task on offer lives in a queue entity; when the queue node that
 * hosts it leaves, the entity starts again empty on another queue node and the loop must offer its
 * task again, or no worker ever registers again.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistrationAfterQueueNodeLeavesTest {
  private final TaskCatalog catalog = TestNodes.catalog();

  @BeforeEach
  void reset() {
    TestTasks.reset();
  }

  private ProverNode workerNode(ClusterNodes cluster, String id) {
    return cluster.start(
        id, "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 1)));
  }

  @Test
  void workersRegisterAfterTheQueueNodeHoldingTheRegistrationTaskLeft() throws Exception {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode sequencer =
          cluster.start(
              "A", "sequencer", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
      ProverNode firstQueue = cluster.start("Q", "queue", "", b -> b.catalog(catalog));
      ProverNode worker = workerNode(cluster, "B");
      TestNodes.await(sequencer.ready());
      TestNodes.await(worker.ready());
      cluster.start("R", "queue", "", b -> b.catalog(catalog)); // nothing is rebalanced onto it
      WorkerRegistrationFlow.Status before = TestNodes.await(sequencer.registrationStatus());
      assertEquals(List.of("B-w1"), before.registeredWorkers());
      assertTrue(before.onOffer(), "the next registration task waits in its entity on Q");

      ClusterNodes.leave(firstQueue); // the entity holding the registration task is gone

      ProverNode joining = workerNode(cluster, "C");
      joining
          .ready()
          .toCompletableFuture()
          .get(20, TimeUnit.SECONDS); // throws when not Ready within 20 s

      // a worker that crashes once registers again
      List<Num> leaves =
          List.of(Num.of(1), Num.of(2), new Num(3, "crash-once:after-leave"), Num.of(4));
      Num sum =
          TestNodes.await(
              sequencer.run(
                  "after-leave",
                  new FanOutReduce<>(
                      TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));
      assertEquals(Num.of(30), sum, "sum of squares 1..4");
      String crashed =
          TestTasks.runs.stream()
              .filter(run -> run.taskType().equals("square") && run.value() == 3)
              .findFirst()
              .orElseThrow()
              .workerId();
      ActorTestKit.create(sequencer.system())
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                List<String> registered =
                    TestNodes.await(sequencer.registrationStatus()).registeredWorkers();
                assertEquals(
                    3,
                    registered.size(),
                    "B-w1, C-w1, then the crashed worker again: " + registered);
                assertEquals(crashed, registered.get(2));
                return null;
              });
    }
  }
}
