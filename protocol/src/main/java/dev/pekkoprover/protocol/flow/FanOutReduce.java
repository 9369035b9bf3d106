package dev.pekkoprover.protocol.flow;

import dev.pekkoprover.protocol.TaskType;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The generic map-then-reduce flow: one leaf task per input, then adjacent results merged pairwise
 * as soon as both are there, keeping order. Completes with the root.
 */
public final class FanOutReduce<L, R, I> implements FlowLogic<R> {
  private final TaskType<L, R> leafType;
  private final List<L> leaves;
  private final TaskType<I, R> reduceType;
  private final BiFunction<R, R, I> pairInput;

  public FanOutReduce(
      TaskType<L, R> leafType,
      List<L> leaves,
      TaskType<I, R> reduceType,
      BiFunction<R, R, I> pairInput) {
    if (leaves.isEmpty()) {
      throw new IllegalArgumentException("a fan-out/reduce flow needs at least one leaf input");
    }
    this.leafType = leafType;
    this.leaves = List.copyOf(leaves);
    this.reduceType = reduceType;
    this.pairInput = pairInput;
  }

  @Override
  public void start(FlowScope<R> scope) {
    Reduction<R, I> reduction =
        new Reduction<>(scope, leaves.size(), reduceType, pairInput, scope::complete);
    for (int i = 0; i < leaves.size(); i++) {
      int index = i;
      scope.push(leafType, leaves.get(i), (R result) -> reduction.leaf(index, result));
    }
  }
}
