package dev.pekkoprover.protocol.flow;

import dev.pekkoprover.protocol.TaskType;
import java.util.function.Consumer;

/** A flow's handle on the queue: push tasks, then complete or fail. */
public interface FlowScope<R> {

  String flowId();

  /**
   * Enqueues a task; {@code onResult} runs on the flow's thread with its result, once, even when
   * the task ran more than once. Tasks pushed within one callback travel to the queue in one
   * message.
   */
  <I, O> void push(TaskType<I, O> type, I input, Consumer<? super O> onResult);

  /** Ends the flow with its result. Later results are ignored. */
  void complete(R result);

  /** Ends the flow with an error; its pending tasks are withdrawn from the queue. */
  void fail(String reason);

  /** True once the flow has completed or failed. */
  boolean isDone();
}
