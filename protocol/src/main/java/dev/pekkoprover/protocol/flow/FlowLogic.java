package dev.pekkoprover.protocol.flow;

/**
 * What one flow does: a unit of proving work (a block, a batch). The sequencer runs it in a flow
 * actor; {@link #start} pushes the first tasks and every result callback may push more, until the
 * logic calls {@link FlowScope#complete}. A task that fails for good fails the whole flow with an
 * error naming the task.
 *
 * <p>Callbacks run one at a time on the flow actor's thread: the logic keeps its state in plain
 * fields, never blocks, and never touches it from another thread.
 */
@FunctionalInterface
public interface FlowLogic<R> {
  void start(FlowScope<R> scope);
}
