package dev.pekkoprover.cluster;

import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test wrapper around any task type: records which worker ran which type, and can hold every
 * compute on workers whose id starts with a given prefix (a node's workers) until released, so a
 * test can stop a node while its workers hold tasks.
 */
final class RecordingTaskType<I, R> extends ForwardingTaskType<I, R> {
  record Run(String taskType, String workerId) {}

  static final Queue<Run> runs = new ConcurrentLinkedQueue<>();
  private static final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();

  private RecordingTaskType(TaskType<I, R> inner) {
    super(inner);
  }

  static List<TaskType<?, ?>> wrap(Collection<? extends TaskType<?, ?>> types) {
    List<TaskType<?, ?>> wrapped = new ArrayList<>();
    for (TaskType<?, ?> type : types) {
      wrapped.add(wrapOne(type));
    }
    return wrapped;
  }

  private static <I, R> TaskType<I, R> wrapOne(TaskType<I, R> type) {
    return new RecordingTaskType<>(type);
  }

  static void reset() {
    runs.clear();
    holds.values().forEach(CountDownLatch::countDown);
    holds.clear();
  }

  /**
   * From now on, computes on workers whose id starts with {@code prefix} wait until {@link
   * #release}.
   */
  static void hold(String prefix) {
    holds.put(prefix, new CountDownLatch(1));
  }

  static void release(String prefix) {
    CountDownLatch latch = holds.remove(prefix);
    if (latch != null) {
      latch.countDown();
    }
  }

  static long ranOn(String prefix) {
    return runs.stream().filter(run -> run.workerId().startsWith(prefix)).count();
  }

  static long ranOn(String prefix, String taskType) {
    return runs.stream()
        .filter(run -> run.workerId().startsWith(prefix) && run.taskType().equals(taskType))
        .count();
  }

  @Override
  public R compute(I input, TaskContext context) throws Exception {
    runs.add(new Run(name(), context.workerId()));
    for (Map.Entry<String, CountDownLatch> hold : holds.entrySet()) {
      if (context.workerId().startsWith(hold.getKey())) {
        hold.getValue().await(60, TimeUnit.SECONDS);
      }
    }
    return super.compute(input, context);
  }
}
