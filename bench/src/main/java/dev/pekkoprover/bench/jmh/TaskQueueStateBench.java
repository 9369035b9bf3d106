package dev.pekkoprover.bench.jmh;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.bench.BenchTasks;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.queue.QueueSettings;
import dev.pekkoprover.queue.TaskQueueState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The queue's bookkeeping ({@link TaskQueueState}) alone, without actors: what one task costs on
 * the hot path (enqueue, dispatch, complete), so that it can be tuned in isolation. The effects
 * only remember what they were told to dispatch and swallow the replies; the envelopes (the flow's
 * work) are made before measuring.
 *
 * <pre>{@code
 * java -cp bench/target/bench.jar org.openjdk.jmh.Main 'TaskQueueState.*'
 * java -cp bench/target/bench.jar org.openjdk.jmh.Main TaskQueueStateBench.cycle -p shape=1x64 -p types=9 -p flows=1 -prof gc
 * }</pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class TaskQueueStateBench {

  /**
   * Envelopes made up front and reused round-robin; ids repeat only long after the earlier task
   * finished.
   */
  private static final int RING = 1 << 16;

  private static final int BATCH = 1_000;

  private static final String INCARNATION = "incarnation-1";

  private static final Long RESULT = 42L;

  /**
   * {@code <workers>x<capacity>}: one worker of 1 or 64 slots, or a fleet of 100 single-slot
   * workers.
   */
  @Param({"1x1", "1x64", "100x1"})
  public String shape;

  /**
   * Task types each worker serves (tasks are all of the first): 1, or 9 as an appchain worker that
   * serves every type. The queue keeps a worker's place in each type's ladder, so this is what a
   * slot change costs.
   */
  @Param({"1", "9"})
  public int types;

  /**
   * Flows the tasks belong to, round-robin ({@link TaskEnvelope#flowSeq} 1 to this): 1, as one
   * flow's fan-out, or 64 interleaved, so that the queue's oldest-flow-first order switches flow at
   * every task.
   */
  @Param({"1", "64"})
  public int flows;

  private TaskQueueState<String, Object> state;
  private final ArrayDeque<TaskEnvelope> inFlight = new ArrayDeque<>();
  private final ArrayDeque<String> holders = new ArrayDeque<>();
  private TaskEnvelope[] envelopes;
  private int next;
  private Blackhole blackhole;
  private final Object flow = new Object();

  /**
   * Counts what the bookkeeping asked for; dispatch only remembers the task, as a send would hand
   * it over.
   */
  private final class Effects implements TaskQueueState.Effects<String, Object> {
    @Override
    public void dispatch(String worker, TaskEnvelope task) {
      inFlight.addLast(task);
      holders.addLast(worker);
    }

    @Override
    public void reply(Object replyTo, TaskOutcome outcome) {
      blackhole.consume(outcome);
    }

    @Override
    public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {
      throw new IllegalStateException("no task fails in this benchmark");
    }

    @Override
    public void putBack(
        TaskEnvelope task, String workerId, TaskQueueState.Redelivery cause, String budget) {
      throw new IllegalStateException("no task is put back in this benchmark");
    }

    @Override
    public void cancel(String worker, String taskId, String runId, String reason) {
      throw new IllegalStateException("no task is cancelled in this benchmark");
    }
  }

  @Setup(Level.Trial)
  public void prepareEnvelopes() {
    envelopes = new TaskEnvelope[RING];
    for (int i = 0; i < RING; i++) {
      envelopes[i] =
          new TaskEnvelope(
              "flow-1:" + i,
              "flow-1",
              "run-1",
              BenchTasks.NOOP.name(),
              1,
              BenchTasks.work(i, 0),
              1 + i % flows);
    }
  }

  /**
   * A fresh queue with the shape's workers, full: every slot holds a task, and so does every place
   * beyond the slots that {@code prover.queue.inline-prefetch} gives the inline no-op type, as in a
   * saturated run.
   */
  @Setup(Level.Iteration)
  public void fill(Blackhole blackhole) {
    this.blackhole = blackhole;
    inFlight.clear();
    holders.clear();
    state = newState(new Effects(), types);
    String[] parts = shape.split("x");
    int workers = Integer.parseInt(parts[0]);
    int capacity = Integer.parseInt(parts[1]);
    for (int w = 1; w <= workers; w++) {
      state.workerServes("w" + w, INCARNATION, "w" + w, typeNames(types), capacity);
    }
    // every slot and every prefetched place (the no-op type runs inline) holds a task
    int room = capacity + QueueSettings.fromConfig(ConfigFactory.load()).inlinePrefetch();
    for (int i = 0; i < workers * room; i++) {
      state.enqueue(nextEnvelope(), flow);
    }
  }

  /**
   * One task's whole life at saturation: it is enqueued (waits), the oldest in flight completes, it
   * is dispatched.
   */
  @Benchmark
  public void cycle() {
    state.enqueue(nextEnvelope(), flow);
    completeOldest();
  }

  /**
   * A bulk enqueue of 1,000 tasks (one Enqueue message of a flow's fan-out), then 1,000
   * completions, each of which dispatches the next pending task. Per task.
   */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void batch() {
    for (int i = 0; i < BATCH; i++) {
      state.enqueue(nextEnvelope(), flow);
    }
    for (int i = 0; i < BATCH; i++) {
      completeOldest();
    }
  }

  private void completeOldest() {
    TaskEnvelope task = inFlight.pollFirst();
    String worker = holders.pollFirst();
    if (!state.succeeded(
        worker, INCARNATION, task.taskId(), task.runId(), task.attempt(), RESULT)) {
      throw new IllegalStateException("the queue did not hold " + task.taskId());
    }
  }

  private TaskEnvelope nextEnvelope() {
    TaskEnvelope envelope = envelopes[next];
    next = (next + 1) & (RING - 1);
    return envelope;
  }

  /** The names of the first {@code count} types of {@link #catalog}. */
  static Set<String> typeNames(int count) {
    Set<String> names = new java.util.LinkedHashSet<>();
    names.add(BenchTasks.NOOP.name());
    for (int i = 1; i < count; i++) {
      names.add(OtherType.name(i));
    }
    return names;
  }

  /** The bench's no-op type and {@code count - 1} more that no task uses. */
  static TaskCatalog catalog(int count) {
    List<TaskType<?, ?>> all = new ArrayList<>();
    all.add(BenchTasks.NOOP);
    for (int i = 1; i < count; i++) {
      all.add(new OtherType(i));
    }
    return TaskCatalog.of(all);
  }

  /** A task type only served, never used: it gives the worker another seat in the queue. */
  private record OtherType(int index) implements TaskType<Object, Object> {
    static String name(int index) {
      return "other-" + index;
    }

    @Override
    public String name() {
      return name(index);
    }

    @Override
    public Class<Object> inputType() {
      return Object.class;
    }

    @Override
    public Class<Object> resultType() {
      return Object.class;
    }

    @Override
    public Object compute(Object input, TaskContext context) {
      return input;
    }
  }

  static TaskQueueState<String, Object> newState(
      TaskQueueState.Effects<String, Object> effects, int types) {
    return new TaskQueueState<>(
        catalog(types), QueueSettings.fromConfig(ConfigFactory.load()), effects, System::nanoTime);
  }
}
