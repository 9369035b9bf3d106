package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.sequencer.WorkerRegistrationFlow;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several Unprepared workers register at the same time: with {@code registration-offers = 3} each
 * of three workers that announce themselves together is handed a registration task of its own while
 * none of them has answered yet, so none waits for another's round trip; when they answer, the loop
 * counts three registrations. (With one task on offer the second worker would get nothing until the
 * first answered.) The workers are probes, so the test decides when they answer.
 */
@ExtendWith(LogCapturingExtension.class)
class ConcurrentRegistrationTest {

  private record Handed(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {}

  @Test
  void threeUnpreparedWorkersEachGetATaskBeforeAnyAnswers() {
    ProverNode node =
        TestNodes.node("concurrent-registration", "prover.sequencer.registration-offers = 3")
            .sequencer(StartupPlan.fixed(new TestTasks.Keys("k")))
            .start();
    try {
      TestNodes.await(node.registrationParameters()); // the loop runs
      ActorTestKit kit = ActorTestKit.create(node.system());
      List<TestProbe<WorkerCommand>> workers = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        TestProbe<WorkerCommand> worker = kit.createTestProbe();
        workers.add(worker);
        node.queue()
            .tell(
                new QueueCommand.WorkerServes(
                    worker.getRef(),
                    "w" + i,
                    "incarnation-" + i,
                    Set.of(WorkerRegistrationTask.NAME),
                    1,
                    WorkerState.UNPREPARED,
                    Set.of(WorkerRegistrationTask.NAME)));
      }

      List<Handed> handed = new ArrayList<>();
      for (TestProbe<WorkerCommand> worker : workers) {
        handed.addAll(handedTo(worker.receiveMessage(Duration.ofSeconds(10))));
      }
      assertEquals(3, handed.size(), "one task each (capacity 1), before any answer");
      Set<String> ids = new HashSet<>();
      for (Handed h : handed) {
        assertEquals(WorkerRegistrationTask.NAME, h.task().taskType());
        ids.add(h.task().taskId());
      }
      assertEquals(3, ids.size(), "three different tasks: " + ids);

      for (int i = 0; i < 3; i++) {
        TaskEnvelope task = handed.get(i).task();
        String workerId = "w" + (i + 1);
        handed
            .get(i)
            .replyTo()
            .tell(
                new QueueCommand.Reports(
                    List.of(
                        new QueueCommand.TaskSucceeded(
                            workerId,
                            "incarnation-" + (i + 1),
                            task.taskId(),
                            task.runId(),
                            task.taskType(),
                            task.attempt(),
                            new WorkerRegistrationTask.Registered(workerId))),
                    List.of(),
                    List.of()));
      }
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(10),
              () -> {
                WorkerRegistrationFlow.Status status = TestNodes.await(node.registrationStatus());
                assertEquals(3, status.registrations());
                assertEquals(Set.of("w1", "w2", "w3"), new HashSet<>(status.registeredWorkers()));
                assertEquals(3, status.tasksOnOffer(), "topped up to three again");
                return null;
              });
      assertTrue(
          TestNodes.stats(node).of(WorkerRegistrationTask.NAME).pending() <= 3,
          "no more than registration-offers wait in the queue");
    } finally {
      node.close();
    }
  }

  private static List<Handed> handedTo(WorkerCommand message) {
    if (message instanceof WorkerCommand.Dispatch dispatch) {
      return List.of(new Handed(dispatch.task(), dispatch.replyTo()));
    }
    if (message instanceof WorkerCommand.DispatchAll all) {
      return all.tasks().stream().map(task -> new Handed(task, all.replyTo())).toList();
    }
    throw new AssertionError("expected a dispatch, got " + message);
  }
}
