package dev.pekkoprover.protocol.flow;

import dev.pekkoprover.protocol.TaskType;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * An eager pairwise reduction inside a flow: feed it the leaf results by index, it pushes a
 * reduction task as soon as two adjacent ranges are finished, and hands the root to {@code onRoot}.
 * Several reductions may run in one flow (a block proves its transactions and its state transitions
 * side by side).
 */
public final class Reduction<R, I> {
  private final FlowScope<?> scope;
  private final TaskType<I, R> reduceType;
  private final BiFunction<R, R, I> pairInput;
  private final Consumer<R> onRoot;
  private final AdjacentRanges<R> ranges;

  /**
   * @param reduceType the task that merges two adjacent results
   * @param pairInput builds that task's input from the left and the right result
   */
  public Reduction(
      FlowScope<?> scope,
      int leaves,
      TaskType<I, R> reduceType,
      BiFunction<R, R, I> pairInput,
      Consumer<R> onRoot) {
    this.scope = scope;
    this.reduceType = reduceType;
    this.pairInput = pairInput;
    this.onRoot = onRoot;
    this.ranges = new AdjacentRanges<>(leaves);
  }

  public void leaf(int index, R value) {
    advance(ranges.leaf(index, value));
  }

  private void advance(AdjacentRanges.Merge<R> merge) {
    if (merge != null) {
      scope.push(
          reduceType,
          pairInput.apply(merge.left(), merge.right()),
          (R merged) -> advance(ranges.merged(merge.from(), merge.to(), merged)));
    } else if (ranges.isComplete()) {
      onRoot.accept(ranges.root());
    }
  }

  public boolean isComplete() {
    return ranges.isComplete();
  }
}
