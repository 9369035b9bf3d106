package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The registration loop keeps exactly one registration task on offer and re-offers after each
 * completion.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerRegistrationFlowTest {
  private final ActorTestKit testKit = ActorTestKit.create("registration", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void offersOneTaskAtATimeForever() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestTasks.Keys keys = new TestTasks.Keys("test-key");
    ActorRef<WorkerRegistrationFlow.Command> flow =
        testKit.spawn(WorkerRegistrationFlow.create(queue.getRef(), "run-1", keys));

    for (int worker = 1; worker <= 3; worker++) {
      QueueCommand.Enqueue offer = queue.expectMessageClass(QueueCommand.Enqueue.class);
      assertEquals(1, offer.tasks().size());
      TaskEnvelope task = offer.tasks().get(0);
      assertEquals(WorkerRegistrationTask.NAME, task.taskType());
      assertEquals(keys, task.payload(), "the registration task carries the parameters");
      queue.expectNoMessage(Duration.ofMillis(50)); // nothing more while this one is on offer
      offer
          .replyTo()
          .tell(
              new TaskOutcome.Succeeded(
                  task.taskId(),
                  task.flowId(),
                  "run-1",
                  task.taskType(),
                  1,
                  "w" + worker,
                  new WorkerRegistrationTask.Registered("w" + worker)));
    }
    queue.expectMessageClass(QueueCommand.Enqueue.class);

    TestProbe<WorkerRegistrationFlow.Status> status = testKit.createTestProbe();
    flow.tell(new WorkerRegistrationFlow.GetStatus(status.getRef()));
    assertEquals(
        new WorkerRegistrationFlow.Status(3, true, List.of("w1", "w2", "w3")),
        status.receiveMessage());
  }
}
