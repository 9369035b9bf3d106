package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Enqueue;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.testing.ClusterKits;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A queue entity placed on a node whose task catalog lacks its type (a queue node started without
 * the sequencer's {@code --plugin}): each task is refused as a deployment mismatch its flow waits
 * out ({@link TaskOutcome.Rejected#queueNodeLacksType}), naming the node and what it knows, with
 * one WARN line a minute, not one per task (a trial's queue node wrote 19,999).
 */
class QueueNodeLacksTypeTest {
  private ActorTestKit kit;

  @AfterEach
  void stop() {
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  @Test
  void tasksOfATypeTheNodeLacksAreRefusedAsAMismatchWithOneLine() {
    kit = ClusterKits.member("lacks-type", "", null);
    ClusterKits.awaitUp(kit, 1);
    TaskCatalog withoutSquare = TaskCatalog.of(TestTasks.Add.INSTANCE);
    ActorRef<QueueCommand> entity =
        kit.spawn(
            LocalTaskQueue.createInCluster(
                withoutSquare,
                QueueSettings.fromConfig(kit.system().settings().config()),
                "square"));
    TestProbe<TaskOutcome> flow = kit.createTestProbe();
    LoggingTestKit.warn("1 task(s) of type square refused: not in the task catalog of queue node")
        .withOccurrences(1)
        .expect(
            kit.system(),
            () -> {
              for (int i = 1; i <= 3; i++) {
                entity.tell(
                    new Enqueue(
                        List.of(new TaskEnvelope("f:" + i, "f", "run-1", "square", 1, Num.of(i))),
                        flow.getRef()));
              }
              for (int i = 1; i <= 3; i++) {
                TaskOutcome.Rejected refused = flow.expectMessageClass(TaskOutcome.Rejected.class);
                assertTrue(refused.queueNodeLacksType(), refused.reason());
                assertTrue(
                    refused.reason().contains(", which knows [worker-registration, add]"),
                    refused.reason());
                assertTrue(
                    refused.reason().contains("Restart it with the same jars and --plugin"),
                    refused.reason());
              }
              return null;
            });
  }
}
