package dev.pekkoprover.protocol.flow;

import dev.pekkoprover.protocol.TaskType;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The flow of independent tasks: one task of {@code type} per input, all pushed at once (so in one
 * message to the queue), and once every result is in, the flow completes with {@code
 * combine(results)}, the results in the order of the inputs whatever order they finished in. For a
 * batch of proofs that needs no reduction task; {@link FanOutReduce} when the results are merged by
 * tasks. A task that fails for good fails the flow, as in any flow.
 *
 * <p>{@code combine} makes the flow's result, a value of the caller's own type (a record
 * implementing {@code CborSerializable} where flow results are stored or cross nodes): a bare list
 * of results would not read back across nodes, its element type being unknown there. It runs on the
 * flow's thread, once; an exception from it fails the flow. No inputs: the flow completes at once
 * with {@code combine} of an empty list.
 *
 * @param <I> the tasks' input
 * @param <O> the tasks' result
 * @param <R> the flow's result
 */
public final class FanOut<I, O, R> implements FlowLogic<R> {
  private final TaskType<I, O> type;
  private final List<I> inputs;
  private final Function<List<O>, R> combine;

  /**
   * @param type the task type every input runs as
   * @param inputs one task each, in the order the results are given to {@code combine}
   * @param combine the flow's result from every task's result, in the inputs' order
   */
  public FanOut(TaskType<I, O> type, List<I> inputs, Function<List<O>, R> combine) {
    this.type = Objects.requireNonNull(type, "type");
    this.inputs = List.copyOf(inputs);
    this.combine = Objects.requireNonNull(combine, "combine");
  }

  @Override
  public void start(FlowScope<R> scope) {
    if (inputs.isEmpty()) {
      scope.complete(combine.apply(List.of()));
      return;
    }
    // per start: the state of this run of the flow, touched on the flow's thread only
    Object[] results = new Object[inputs.size()];
    int[] remaining = {inputs.size()};
    for (int i = 0; i < inputs.size(); i++) {
      int index = i;
      scope.push(
          type,
          inputs.get(i),
          (O result) -> {
            results[index] = result; // each callback runs once: the framework drops duplicates
            if (--remaining[0] == 0) {
              scope.complete(combine.apply(inOrder(results)));
            }
          });
    }
  }

  /** The results as an unmodifiable list; none is null (a task's null result fails it). */
  @SuppressWarnings("unchecked")
  private static <O> List<O> inOrder(Object[] results) {
    return (List<O>) List.of(results);
  }
}
