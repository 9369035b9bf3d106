package dev.pekkoprover.cluster;

import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerFault;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fault-injection wrapper for drills and tests: every {@code every}-th compute of the wrapped regular task types in
 * this JVM throws {@link WorkerFault}, so its worker crashes, restarts Unprepared, registers again and the queue
 * redelivers the task. The proven result must not change.
 */
final class CrashingTaskType<I, R> extends ForwardingTaskType<I, R> {
  private final long every;
  private final AtomicLong computes;

  private CrashingTaskType(TaskType<I, R> inner, long every, AtomicLong computes) {
    super(inner);
    this.every = every;
    this.computes = computes;
  }

  /** Wraps the regular types (unprepared ones, compile and registration, are left alone); 0 wraps nothing. */
  static List<TaskType<?, ?>> wrap(Collection<? extends TaskType<?, ?>> types, long every) {
    List<TaskType<?, ?>> wrapped = new ArrayList<>();
    AtomicLong computes = new AtomicLong();
    for (TaskType<?, ?> type : types) {
      wrapped.add(every > 0 && !type.isUnprepared() ? wrapOne(type, every, computes) : type);
    }
    return wrapped;
  }

  private static <I, R> TaskType<I, R> wrapOne(TaskType<I, R> type, long every, AtomicLong computes) {
    return new CrashingTaskType<>(type, every, computes);
  }

  @Override
  public R compute(I input, TaskContext context) throws Exception {
    if (computes.incrementAndGet() % every == 0) {
      throw new WorkerFault("injected crash (crash-every = " + every + ") in " + name() + " on "
          + context.workerId());
    }
    return super.compute(input, context);
  }
}
