package dev.pekkoprover.cluster;

import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerFault;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A fault-injection wrapper for drills and tests: on average one compute in {@code every} of the
 * wrapped regular task types throws {@link WorkerFault}, so its worker crashes, restarts
 * Unprepared, registers again and the queue redelivers the task. The proven result must not change.
 *
 * <p>Each compute crashes independently with probability 1/every, as crashes of real workers do. (A
 * counter shared by all workers, "exactly every Nth compute", lines up with the queue's retry
 * order: the same task then lands on the crashing count again and again, and the queue rightly ends
 * it as poison once it has crashed max-worker-losses workers. That measures the drill, not the
 * framework.)
 */
final class CrashingTaskType<I, R> extends ForwardingTaskType<I, R> {
  private final long every;

  private CrashingTaskType(TaskType<I, R> inner, long every) {
    super(inner);
    this.every = every;
  }

  /**
   * Wraps the regular types (unprepared ones, compile and registration, are left alone); 0 wraps
   * nothing.
   */
  static List<TaskType<?, ?>> wrap(Collection<? extends TaskType<?, ?>> types, long every) {
    List<TaskType<?, ?>> wrapped = new ArrayList<>();
    for (TaskType<?, ?> type : types) {
      wrapped.add(every > 0 && !type.isUnprepared() ? wrapOne(type, every) : type);
    }
    return wrapped;
  }

  private static <I, R> TaskType<I, R> wrapOne(TaskType<I, R> type, long every) {
    return new CrashingTaskType<>(type, every);
  }

  @Override
  public R compute(I input, TaskContext context) throws Exception {
    if (ThreadLocalRandom.current().nextLong(every) == 0) {
      throw new WorkerFault(
          "injected crash (crash-every = "
              + every
              + ") in "
              + name()
              + " on "
              + context.workerId());
    }
    return super.compute(input, context);
  }
}
