package dev.pekkoprover.testing;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerFault;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Task types for the framework's own tests. A {@link Num}'s {@code mode} steers what {@code
 * compute} does, so a test can make one particular task fail, crash its worker or hang, across a
 * serialisation boundary:
 *
 * <ul>
 *   <li>{@code ""}: the plain computation
 *   <li>{@code "fail"}: throw every time (retried, then the flow fails)
 *   <li>{@code "permanent"}: throw {@link PermanentTaskFailure}
 *   <li>{@code "crash-once:K"}: the first run under key K throws {@link WorkerFault} (its worker
 *       restarts)
 *   <li>{@code "hold:K"}: wait until {@link #release(String)} K (to hold a task on a worker)
 *   <li>{@code "hold-once:K"}: the first run under key K waits for {@link #release(String)} K;
 *       later runs do not
 *   <li>{@code "hold-hard:K"}: like hold, but ignores interrupts: a compute that is hung for good
 *       (until released)
 *   <li>{@code "hold-once-slow:K"}: the first run under key K waits for {@link #release(String)} K;
 *       interrupted, it throws only once {@code K-after} is released (a compute slow to stop);
 *       later runs return at once
 * </ul>
 *
 * Every run is recorded in {@link #runs} as "taskType value worker" so tests can check who ran
 * what.
 */
public final class TestTasks {
  private TestTasks() {}

  public record Num(long value, String mode) implements CborSerializable {
    public static Num of(long value) {
      return new Num(value, "");
    }
  }

  public record Pair(Num left, Num right) implements CborSerializable {}

  /** Verification keys as the test compile task makes them. */
  public record Keys(String key) implements CborSerializable {}

  public record CompileRequest(String circuit) implements CborSerializable {}

  /** One run of a test task. */
  public record Run(String taskType, long value, String workerId) {}

  public static final Queue<Run> runs = new ConcurrentLinkedQueue<>();
  private static final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
  private static final Map<String, AtomicInteger> crashes = new ConcurrentHashMap<>();

  /** Worker ids whose prepare ran, per type, in order. */
  public static final Queue<String> prepares = new ConcurrentLinkedQueue<>();

  public static void reset() {
    runs.clear();
    prepares.clear();
    holds.values().forEach(CountDownLatch::countDown);
    holds.clear();
    crashes.clear();
    maxConcurrent.clear();
    running.clear();
  }

  public static void release(String key) {
    latch(key).countDown();
  }

  private static CountDownLatch latch(String key) {
    return holds.computeIfAbsent(key, k -> new CountDownLatch(1));
  }

  /** The most tasks each worker ever ran at the same time. */
  public static final Map<String, Integer> maxConcurrent = new ConcurrentHashMap<>();

  private static final Map<String, AtomicInteger> running = new ConcurrentHashMap<>();

  /** How many tasks this worker runs now (started and not yet returned or thrown). */
  public static int runningNow(String workerId) {
    AtomicInteger now = running.get(workerId);
    return now == null ? 0 : now.get();
  }

  static Num apply(String type, Num input, long value, String workerId)
      throws InterruptedException {
    AtomicInteger now = running.computeIfAbsent(workerId, k -> new AtomicInteger());
    maxConcurrent.merge(workerId, now.incrementAndGet(), Math::max);
    try {
      return run(type, input, value, workerId);
    } finally {
      now.decrementAndGet();
    }
  }

  private static Num run(String type, Num input, long value, String workerId)
      throws InterruptedException {
    String mode = input.mode();
    runs.add(new Run(type, input.value(), workerId));
    if (mode.equals("fail")) {
      throw new IllegalStateException("simulated failure of " + type + " on " + input.value());
    }
    if (mode.equals("permanent")) {
      throw new PermanentTaskFailure("simulated bad input " + input.value());
    }
    if (mode.startsWith("crash-once:")
        && crashes.computeIfAbsent(mode, k -> new AtomicInteger()).getAndIncrement() == 0) {
      throw new WorkerFault("simulated prover crash on " + input.value());
    }
    if (mode.startsWith("hold-hard:")) {
      String key = mode.substring(mode.indexOf(':') + 1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        try {
          if (latch(key).await(100, TimeUnit.MILLISECONDS)) {
            break;
          }
        } catch (InterruptedException ignored) {
          // a compute hung for good does not notice interrupts
        }
      }
      return Num.of(value);
    }
    if (mode.startsWith("hold-once-slow:")
        && crashes.computeIfAbsent(mode, k -> new AtomicInteger()).getAndIncrement() == 0) {
      String key = mode.substring(mode.indexOf(':') + 1);
      try {
        if (!latch(key).await(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("hold " + mode + " was never released");
        }
      } catch (InterruptedException interrupted) {
        boolean after = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!after && System.nanoTime() < deadline) {
          try {
            after = latch(key + "-after").await(100, TimeUnit.MILLISECONDS);
          } catch (InterruptedException again) {
            // slow to stop: it notices only once released
          }
        }
        throw interrupted;
      }
      return Num.of(value);
    }
    boolean hold =
        mode.startsWith("hold:")
            || (mode.startsWith("hold-once:")
                && crashes.computeIfAbsent(mode, k -> new AtomicInteger()).getAndIncrement() == 0);
    if (hold) {
      String key = mode.substring(mode.indexOf(':') + 1);
      if (!latch(key).await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("hold " + mode + " was never released");
      }
    }
    return Num.of(value);
  }

  /** Leaf: squares its input. Regular; its prepare needs the registration keys. */
  public static final class Square extends NamedTaskType<Num, Num> {
    public static final Square INSTANCE = new Square();

    public Square() {
      super("square", Num.class, Num.class);
    }

    @Override
    public Object prepare(TaskContext context) {
      Keys keys = context.registration(Keys.class);
      prepares.add(name() + " " + context.workerId());
      return keys.key();
    }

    @Override
    public Num compute(Num input, TaskContext context) throws Exception {
      if (!"test-key".equals(context.prepared(String.class))) {
        throw new IllegalStateException("square ran without its prepared key");
      }
      return apply(name(), input, input.value() * input.value(), context.workerId());
    }
  }

  /** Reduction: adds two numbers. Regular. */
  public static final class Add extends NamedTaskType<Pair, Num> {
    public static final Add INSTANCE = new Add();

    public Add() {
      super("add", Pair.class, Num.class);
    }

    @Override
    public Object prepare(TaskContext context) {
      prepares.add(name() + " " + context.workerId());
      return null;
    }

    @Override
    public Num compute(Pair input, TaskContext context) throws Exception {
      Num left = input.left();
      String mode = left.mode().isEmpty() ? input.right().mode() : left.mode();
      return apply(
          name(),
          new Num(left.value(), mode),
          left.value() + input.right().value(),
          context.workerId());
    }
  }

  /**
   * Negates its input on the worker actor's thread as the task arrives ({@code runsInline}), in any
   * state (unprepared): the cheap kind of task that a worker runs many of per message.
   */
  public static final class Negate extends NamedTaskType<Num, Num> {
    public static final Negate INSTANCE = new Negate();

    public Negate() {
      super("negate", Num.class, Num.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public boolean runsInline() {
      return true;
    }

    @Override
    public Num compute(Num input, TaskContext context) {
      return Num.of(-input.value());
    }
  }

  /** The test's circuit compiler: unprepared, returns the keys workers get at registration. */
  public static final class Compile extends NamedTaskType<CompileRequest, Keys> {
    public static final Compile INSTANCE = new Compile();

    public Compile() {
      super("compile", CompileRequest.class, Keys.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public Keys compute(CompileRequest input, TaskContext context) {
      runs.add(new Run(name(), 0, context.workerId()));
      return new Keys("test-key");
    }
  }

  /**
   * Text of a given size, for payload-size tests; {@code doubled} makes the result twice as long.
   */
  public record Text(String text, boolean doubled) implements CborSerializable {
    public static Text ofSize(int chars, boolean doubled) {
      return new Text("x".repeat(chars), doubled);
    }
  }

  /**
   * Returns its input (twice over when asked): a task whose input and result sizes a test chooses.
   */
  public static final class Echo extends NamedTaskType<Text, Text> {
    public static final Echo INSTANCE = new Echo();

    public Echo() {
      super("echo", Text.class, Text.class);
    }

    @Override
    public Text compute(Text input, TaskContext context) {
      return input.doubled() ? new Text(input.text() + input.text(), false) : input;
    }
  }

  public static List<TaskType<?, ?>> all() {
    return List.of(Square.INSTANCE, Add.INSTANCE, Compile.INSTANCE);
  }
}
