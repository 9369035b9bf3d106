package dev.pekkoprover.example;

import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.TaskContext;

/**
 * The sum of the squares of a range of numbers, computed by a worker; says which worker computed
 * it.
 */
public final class SquareSumTask extends NamedTaskType<Range, PartialSum> {
  public static final String NAME = "SquareSumTask";

  public SquareSumTask() {
    super(NAME, Range.class, PartialSum.class);
  }

  @Override
  public PartialSum compute(Range range, TaskContext context) {
    long sum = 0;
    for (long i = range.from(); i <= range.to(); i++) {
      sum = Math.addExact(sum, Math.multiplyExact(i, i));
    }
    return new PartialSum(range, sum, context.workerId());
  }
}
