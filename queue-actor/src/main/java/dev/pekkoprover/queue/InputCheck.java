package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.PayloadCheck;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;

/**
 * The check of a task's input before it is queued ({@link PayloadCheck}: it serialises, fits the
 * size limit, reads back), and the refusal of one that fails it: shared by a cluster's {@link
 * QueueFront} and the one-JVM {@link LocalTaskQueue} with {@code
 * prover.queue.check-payloads-in-one-jvm}, so that both say the same.
 */
final class InputCheck {
  private InputCheck() {}

  /**
   * The task as it goes on (its input as the bytes of the check when it passed and was serialised,
   * a registration offer excepted: the queue reads it as a live value, see {@link
   * WorkerAdmission}), its input's serialised size (0 when not measured), and why it cannot be
   * queued (null when it can).
   */
  record Checked(TaskEnvelope task, int bytes, String problem) {
    boolean ok() {
      return problem == null;
    }
  }

  static Checked of(PayloadCheck payloads, TaskEnvelope task) {
    PayloadCheck.Verdict verdict =
        payloads.check("input", task.taskId(), task.taskType(), task.payload());
    if (!verdict.ok()) {
      return new Checked(task, verdict.bytes(), verdict.problem());
    }
    if (verdict.serialized() != null && !WorkerRegistrationTask.NAME.equals(task.taskType())) {
      // serialised once: the input travels as these bytes to the worker that decodes it
      return new Checked(task.withPayload(verdict.serialized()), verdict.bytes(), null);
    }
    return new Checked(task, verdict.bytes(), null);
  }

  /** Refuses a task at its enqueue: one WARN line, and the flow hears why. */
  static void refuse(Logger log, ActorRef<TaskOutcome> replyTo, TaskEnvelope task, String reason) {
    log.warn("{} refused: {}", task.describe(), reason);
    replyTo.tell(
        new TaskOutcome.Rejected(
            task.taskId(), task.flowId(), task.runId(), task.taskType(), reason));
  }
}
