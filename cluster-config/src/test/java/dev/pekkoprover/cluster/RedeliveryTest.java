package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Item 5: a worker stopped while holding tasks has each of them redelivered; a worker that overruns
 * its lease has its task redelivered and its late result dropped.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RedeliveryTest {
  private ProverNode node;

  @AfterEach
  void stop() {
    TestTasks.reset();
    node.close();
  }

  @Test
  void aStoppedWorkersTasksAreEachRedelivered() {
    TestTasks.reset();
    // one worker first, so that it takes both held tasks; the second comes once they are held
    node = TestNodes.node("stopped", "").workers(WorkerGroup.allTypes(1, 2)).start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());
    String holder = node.workers().keySet().iterator().next();

    List<Num> leaves = List.of(new Num(2, "hold:stop"), new Num(3, "hold:stop"));
    CompletableFuture<FlowResult.Completed> flow =
        node.runWithStats(
                "held",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new))
            .toCompletableFuture();
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(
                  2,
                  TestNodes.stats(node).of("square").inFlight(),
                  "both leaves held by " + holder);
              return null;
            });
    String rescuer = TestNodes.await(node.addWorker(List.of(), 2));
    node.stopWorker(holder);
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(
                  2,
                  TestNodes.stats(node).of("square").redelivered(),
                  "each held task was put back");
              return null;
            });
    TestTasks.release(
        "stop"); // only now: the stopped worker's computations end, unseen; the rescuer's finish

    FlowResult.Completed done = TestNodes.await(flow);
    assertEquals(Num.of(13), done.result());
    QueueStats stats = TestNodes.stats(node);
    assertEquals(2, stats.of("square").redelivered(), "put back once each, no more");
    long rescued =
        TestTasks.runs.stream()
            .filter(run -> run.taskType().equals("square") && run.workerId().equals(rescuer))
            .count();
    assertEquals(2, rescued, "the other worker ran both again");
  }

  @Test
  void aLeaseOverrunIsRedeliveredAndTheLateResultDropped() {
    TestTasks.reset();
    node =
        TestNodes.node("lease", "prover.queue.lease-per-type.square = 300ms")
            .workers(WorkerGroup.allTypes(2, 1))
            .start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());

    FlowResult.Completed done =
        TestNodes.await(
            node.runWithStats(
                "slow",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(new Num(7, "hold-once:lease")),
                    TestTasks.Add.INSTANCE,
                    Pair::new)));
    assertEquals(
        Num.of(49), done.result(), "the redelivered copy finished while the first still hangs");
    assertEquals(1, TestNodes.stats(node).of("square").redelivered());

    TestTasks.release("lease"); // the hung first run now finishes; its result arrives late
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              QueueStats stats = TestNodes.stats(node);
              assertEquals(1, stats.unknownResults(), "the late result was dropped and counted");
              assertEquals(1, stats.of("square").completed(), "one result reached the flow");
              return null;
            });
    assertTrue(TestTasks.runs.stream().filter(run -> run.value() == 7).count() == 2);
  }
}
