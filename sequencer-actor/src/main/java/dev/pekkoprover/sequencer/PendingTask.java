package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskIds;
import dev.pekkoprover.protocol.TaskType;
import java.util.function.Consumer;

/**
 * A task a flow pushed and whose outcome it still waits for: its callback, where it is ({@link
 * #stage}), its re-send bookkeeping ({@link PendingTasks}) and, with durability on ({@link Keyed}),
 * its content key, claim and result ({@link FlowDurability}). Mutable, owned by one flow actor;
 * kept small, since a flow may hold a million of them: 40 bytes without durability (what only
 * durability needs is in the subclass, and the sequence number is read from the id).
 */
class PendingTask {
  /** In the queue (or about to be sent). Without durability a task is only ever QUEUED. */
  static final byte QUEUED = 0;

  /** Another flow computes the same content key; its ClaimSettled ends the wait. */
  static final byte WAITING = 1;

  /** Its result is in and sent to the store; the callback waits for the store's confirmation. */
  static final byte STORING = 2;

  /** Its result is known and stored; its callback runs once the current message is handled. */
  static final byte SETTLED = 3;

  final TaskType<?, ?> type;
  final Consumer<Object> onResult;

  byte stage = QUEUED;

  /** Set right after the window numbered it: the id carries that number. */
  TaskEnvelope envelope;

  /** When to ask the queue about this task next (System.nanoTime). */
  long checkAt;

  /** Checks since it was last sent: sets the backoff. */
  int checks;

  /**
   * Asked about and not re-sent since: a MissingTasks naming it re-sends it (once, however many
   * answers).
   */
  boolean asked;

  PendingTask(TaskType<?, ?> type, Consumer<Object> onResult) {
    this.type = type;
    this.onResult = onResult;
  }

  /**
   * Its number in the flow (1, 2, ...), the {@code <sequence>} of its id ({@link TaskIds}); parsed
   * from the id, which carries it, rather than stored a second time. Only once {@link #envelope} is
   * set.
   */
  long sequence() {
    return TaskIds.sequenceIn(envelope.taskId(), envelope.flowId());
  }

  /** A task of a flow with durability on: every task such a flow pushes is one. */
  static final class Keyed extends PendingTask {
    /** The content key; set right after the push ({@link FlowDurability#key}). */
    String key;

    /**
     * The claim this task holds on its key (it computes it for every flow that pushes the same);
     * null when it holds none.
     */
    ResultIndex.Claim claim;

    /** The result, once in (STORING, SETTLED). */
    Object result;

    Keyed(TaskType<?, ?> type, Consumer<Object> onResult) {
      super(type, onResult);
    }
  }
}
