package dev.pekkoprover.bench.jmh;

import dev.pekkoprover.bench.BenchTasks;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.queue.TaskQueueState;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Enqueue alone into a queue that no worker serves (the path of the pending-heap workload and of a
 * flow's bulk fan-out before workers catch up): 10,000 tasks into a fresh {@link TaskQueueState},
 * per task.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class TaskQueueStateEnqueueBench {
  private static final int TASKS = 10_000;

  private TaskEnvelope[] envelopes;
  private final Object flow = new Object();

  private static final TaskQueueState.Effects<String, Object> NO_EFFECTS =
      new TaskQueueState.Effects<>() {
        @Override
        public void dispatch(String worker, TaskEnvelope task) {
          throw new IllegalStateException("no worker: nothing is dispatched");
        }

        @Override
        public void reply(Object replyTo, TaskOutcome outcome) {
          throw new IllegalStateException("nothing is refused or completed: " + outcome);
        }

        @Override
        public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {}

        @Override
        public void putBack(
            TaskEnvelope task, String workerId, TaskQueueState.Redelivery cause, String budget) {}

        @Override
        public void cancel(String worker, String taskId, String runId, String reason) {}
      };

  @Setup(Level.Trial)
  public void prepareEnvelopes() {
    envelopes = new TaskEnvelope[TASKS];
    for (int i = 0; i < TASKS; i++) {
      envelopes[i] =
          new TaskEnvelope(
              "flow-1:" + i, "flow-1", "run-1", BenchTasks.NOOP.name(), 1, BenchTasks.work(i, 0));
    }
  }

  @Benchmark
  @OperationsPerInvocation(TASKS)
  public TaskQueueState<String, Object> enqueuePending() {
    TaskQueueState<String, Object> pending = TaskQueueStateBench.newState(NO_EFFECTS, 1);
    for (TaskEnvelope envelope : envelopes) {
      pending.enqueue(envelope, flow);
    }
    return pending;
  }
}
