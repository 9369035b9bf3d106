package dev.pekkoprover.bench;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * The benchmark's task types, the same work as the BullMQ baseline's: a no-op leaf and a no-op
 * merge that run on the worker actor's own thread ({@link TaskType#runsInline()}, a framework
 * feature for tasks cheaper than a thread hand-off), and "timed" twins that take a fixed simulated
 * time on the worker's compute dispatcher, for the scheduling-quality workload. A leaf returns its
 * sequence number and a merge the sum of its two inputs, so a tree's root is checkable: sum of
 * 0..n-1.
 *
 * <p>The simulated time travels in the input, so a worker in another process needs no settings.
 */
public final class BenchTasks {
  private BenchTasks() {}

  /**
   * Characters of filler in a {@link Work} input: with the two numbers, about 200 bytes as the
   * baseline's jobs.
   */
  public static final int FILLER_CHARS = 184;

  /**
   * A leaf task's input: about 200 bytes. {@code workNanos} is the simulated compute time (timed
   * types only).
   */
  public record Work(long seq, long workNanos, String data) implements CborSerializable {}

  /** A merge task's input: the two adjacent results. */
  public record Merge(long left, long right, long workNanos) implements CborSerializable {}

  /**
   * The input of the one-type tree ({@code mode=pairs}): a leaf ({@code level} 0, {@code value} its
   * index, with the ~200-byte filler) or the merge of two results at {@code level} (the sum of
   * {@code value} and {@code right}).
   */
  public record Node(int level, int index, long value, long right, long workNanos, String data)
      implements CborSerializable {}

  /** A fresh ~200-byte input (its own filler string, as a real payload would be). */
  public static Work work(long seq, long workNanos) {
    char[] filler = new char[FILLER_CHARS];
    Arrays.fill(filler, 'x');
    String digits = Long.toString(seq);
    digits.getChars(0, Math.min(digits.length(), FILLER_CHARS), filler, 0);
    return new Work(seq, workNanos, new String(filler));
  }

  public static List<Work> works(int count, long workNanos) {
    return works(count, workNanos, 0);
  }

  /**
   * Inputs with sequence numbers {@code base} to {@code base + count - 1}: every input of one call
   * differs, and calls with different bases share none, so that a durable sequencer (results stored
   * by content: type + SHA-256 of the input) runs every one of them instead of answering from its
   * store.
   */
  public static List<Work> works(int count, long workNanos, long base) {
    List<Work> inputs = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      inputs.add(work(base + i, workNanos));
    }
    return inputs;
  }

  public static final TaskType<Work, Long> NOOP = new Leaf("bench-noop", true);
  public static final TaskType<Merge, Long> NOOP_MERGE = new Merger("bench-noop-merge", true);
  public static final TaskType<Work, Long> TIMED = new Leaf("bench-timed", false);
  public static final TaskType<Merge, Long> TIMED_MERGE = new Merger("bench-timed-merge", false);

  /**
   * Leaves and merges of the one-type tree: one queue for both, as the baseline's tree uses one
   * BullMQ queue.
   */
  public static final TaskType<Node, Long> NOOP_NODE = new NodeType("bench-noop-node", true);

  public static final TaskType<Node, Long> TIMED_NODE = new NodeType("bench-timed-node", false);

  public static TaskCatalog catalog() {
    return TaskCatalog.of(NOOP, NOOP_MERGE, TIMED, TIMED_MERGE, NOOP_NODE, TIMED_NODE);
  }

  /**
   * Simulated compute time actually spent by timed tasks in this JVM (sleeps overshoot a little).
   */
  private static final LongAdder timedNanos = new LongAdder();

  private static final LongAdder timedRuns = new LongAdder();

  /**
   * Mean simulated compute time per timed task since the last call, in nanoseconds; resets the
   * counters.
   */
  public static double takeMeanTimedNanos() {
    long runs = timedRuns.sumThenReset();
    long nanos = timedNanos.sumThenReset();
    return runs == 0 ? Double.NaN : (double) nanos / runs;
  }

  /**
   * Sleeps (parks) for the simulated time: the compute dispatcher's thread is held, as a real
   * prover would hold it.
   */
  private static void simulate(long workNanos) {
    if (workNanos <= 0) {
      return;
    }
    long start = System.nanoTime();
    long deadline = start + workNanos;
    long left;
    while ((left = deadline - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
    timedNanos.add(System.nanoTime() - start);
    timedRuns.increment();
  }

  private static final class Leaf extends NamedTaskType<Work, Long> {
    private final boolean inline;

    Leaf(String name, boolean inline) {
      super(name, Work.class, Long.class);
      this.inline = inline;
    }

    @Override
    public boolean runsInline() {
      return inline;
    }

    @Override
    public Long compute(Work input, TaskContext context) {
      simulate(input.workNanos());
      return input.seq();
    }
  }

  private static final class Merger extends NamedTaskType<Merge, Long> {
    private final boolean inline;

    Merger(String name, boolean inline) {
      super(name, Merge.class, Long.class);
      this.inline = inline;
    }

    @Override
    public boolean runsInline() {
      return inline;
    }

    @Override
    public Long compute(Merge input, TaskContext context) {
      simulate(input.workNanos());
      return input.left() + input.right();
    }
  }

  private static final class NodeType extends NamedTaskType<Node, Long> {
    private final boolean inline;

    NodeType(String name, boolean inline) {
      super(name, Node.class, Long.class);
      this.inline = inline;
    }

    @Override
    public boolean runsInline() {
      return inline;
    }

    @Override
    public Long compute(Node input, TaskContext context) {
      simulate(input.workNanos());
      return input.level() == 0 ? input.value() : input.value() + input.right();
    }
  }

  static long millisToNanos(double millis) {
    return (long) (millis * TimeUnit.MILLISECONDS.toNanos(1));
  }
}
