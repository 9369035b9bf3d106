package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.testing.ClusterKits;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A worker on another node reported terminated while its node is a live member. Pekko ends every
 * watch at an address when a member at that address is removed, so a worker node killed and started
 * again at the same address had its new worker declared terminated as the cluster removed the old
 * node: two proofs put back and computed a second time in an operator's trial. The queue watches
 * such a worker once more and believes only a second Terminated. Two actor systems with the cluster
 * provider, joined in this JVM; the spurious Terminated is the message Pekko's death watch would
 * have delivered.
 */
@ExtendWith(LogCapturingExtension.class)
class WorkerOnLiveNodeTerminatedTest {
  private final List<ActorTestKit> kits = new ArrayList<>();

  @AfterEach
  void stop() {
    kits.forEach(ActorTestKit::shutdownTestKit);
  }

  private ActorTestKit node(ActorTestKit seed) {
    ActorTestKit kit = ClusterKits.member("worker-live-node", "", seed);
    kits.add(kit);
    return kit;
  }

  private static QueueStats.TypeStats squares(ActorTestKit kit, ActorRef<QueueCommand> queue) {
    TestProbe<QueueStats> stats = kit.createTestProbe();
    queue.tell(new QueueCommand.GetStats(stats.getRef()));
    return stats.receiveMessage().of("square");
  }

  @Test
  void aWorkerWhoseNodeIsUpIsWatchedAgainAndPutBackOnlyWhenItReallyStops() {
    ActorTestKit queueNode = node(null);
    ActorTestKit workerNode = node(queueNode);
    ClusterKits.awaitUp(queueNode, 2);
    ActorRef<QueueCommand> queue =
        queueNode.spawn(
            LocalTaskQueue.create(
                TaskCatalog.of(TestTasks.all()),
                QueueSettings.fromConfig(queueNode.system().settings().config())));
    TestProbe<WorkerCommand> worker = workerNode.createTestProbe();
    // the worker as the queue's node sees it: a ref to the other node
    ActorRef<WorkerCommand> remote =
        ActorRefResolver.get(queueNode.system())
            .resolveActorRef(
                ActorRefResolver.get(workerNode.system()).toSerializationFormat(worker.getRef()));
    TestProbe<TaskOutcome> flow = queueNode.createTestProbe();
    queue.tell(new WorkerServes(remote, "w1", "i1", Set.of("square"), 1));
    queue.tell(
        new Enqueue(
            List.of(new TaskEnvelope("f:1", "f", "run-1", "square", 1, Num.of(3))), flow.getRef()));
    WorkerCommand dispatched = worker.receiveMessage(Duration.ofSeconds(10));
    assertEquals(
        true,
        dispatched instanceof WorkerCommand.Dispatch
            || dispatched instanceof WorkerCommand.DispatchAll,
        "the task handed out: " + dispatched);

    // what Pekko's death watch delivers for a worker at the address of a member removed lately,
    // before its node is Up here: looked at again, and watched again as its node is Up
    LoggingTestKit.debug("its node is Up here, watched again")
        .expect(
            queueNode.system(),
            () -> {
              queue.tell(new LocalTaskQueue.WorkerStopped(remote));
              return null;
            });
    QueueStats.TypeStats held = squares(queueNode, queue);
    assertEquals(1, held.inFlight(), "still the worker's: " + held);
    assertEquals(0, held.lost(), "not put back: " + held);
    worker.expectNoMessage(Duration.ofMillis(300)); // no cancel, no second dispatch

    // the worker does stop: the watch set again reports it, and its task goes back
    worker.stop();
    queueNode
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              QueueStats.TypeStats after = squares(queueNode, queue);
              assertEquals(1, after.lost(), "put back once it stopped: " + after);
              return null;
            });
  }
}
