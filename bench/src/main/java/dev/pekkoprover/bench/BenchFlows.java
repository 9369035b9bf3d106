package dev.pekkoprover.bench;

import dev.pekkoprover.bench.BenchTasks.Work;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import java.util.List;
import java.util.function.Consumer;

/**
 * The flows the workloads run. Each takes its timestamps on the flow's own thread, i.e. where the
 * sequencer side sees a result, with {@link System#nanoTime()}. The timestamps are plain fields: a
 * flow's callbacks run one at a time, and the harness reads them only after the flow's completion
 * has been handed back through the sequencer (a happens-before edge through the actor messages and
 * the future).
 */
final class BenchFlows {
  private BenchFlows() {}

  /**
   * Throughput: pushes every input at start (they travel to the queue in one Enqueue) and completes
   * with the number of results once all are in. Measures first enqueue to last result.
   */
  static final class Bulk implements FlowLogic<Long> {
    private final List<Work> inputs;
    private final Consumer<Long> onResult = this::onResult;
    private FlowScope<Long> scope;
    private long results;
    long firstEnqueueNanos;
    long lastResultNanos;

    Bulk(List<Work> inputs) {
      this.inputs = inputs;
    }

    @Override
    public void start(FlowScope<Long> scope) {
      this.scope = scope;
      firstEnqueueNanos = System.nanoTime();
      for (Work input : inputs) {
        scope.push(BenchTasks.NOOP, input, onResult);
      }
    }

    private void onResult(Long seq) {
      if (++results == inputs.size()) {
        lastResultNanos = System.nanoTime();
        scope.complete(results);
      }
    }
  }

  /**
   * Sequential latency: one task at a time; each result's callback records its latency (push to
   * result) and pushes the next. The push is sent to the queue right after the callback returns.
   */
  static final class Sequential implements FlowLogic<Long> {
    private final List<Work> inputs;
    private final Consumer<Long> onResult = this::onResult;
    final long[] latencyNanos;
    private FlowScope<Long> scope;
    private int next;
    private long pushedAt;

    Sequential(List<Work> inputs) {
      this.inputs = inputs;
      this.latencyNanos = new long[inputs.size()];
    }

    @Override
    public void start(FlowScope<Long> scope) {
      this.scope = scope;
      push();
    }

    private void push() {
      pushedAt = System.nanoTime();
      scope.push(BenchTasks.NOOP, inputs.get(next), onResult);
    }

    private void onResult(Long seq) {
      latencyNanos[next] = System.nanoTime() - pushedAt;
      if (++next == inputs.size()) {
        scope.complete((long) next);
      } else {
        push();
      }
    }
  }

  /**
   * Paced latency: one task in its own flow; records submit-to-result into {@code latencies[index]}
   * and push-to-result (without the flow's start through the sequencer) into {@code
   * fromPush[index]}.
   */
  static FlowLogic<Long> single(
      TaskType<Work, Long> type,
      Work input,
      long submittedAt,
      long[] latencies,
      long[] fromPush,
      int index) {
    return scope -> {
      long pushedAt = System.nanoTime();
      scope.push(
          type,
          input,
          (Long seq) -> {
            long now = System.nanoTime();
            latencies[index] = now - submittedAt;
            fromPush[index] = now - pushedAt;
            scope.complete(seq);
          });
    };
  }

  /**
   * The baseline's tree, with one task type for leaves and merges (so one queue, first in first
   * out): leaf i's result pairs with leaf i^1's, and so on up, each merge pushed as soon as both of
   * its inputs are in. A balanced tree whatever the completion order, unlike {@link
   * dev.pekkoprover.protocol.flow.FanOutReduce}'s eager merge of whichever adjacent ranges finish
   * first. Leaves must be a power of two.
   */
  static final class Pairs implements FlowLogic<Long> {
    private final TaskType<BenchTasks.Node, Long> type;
    private final int leaves;
    private final long workNanos;
    private final long base;
    private final java.util.Map<Long, Long> waiting = new java.util.HashMap<>();
    private FlowScope<Long> scope;

    Pairs(TaskType<BenchTasks.Node, Long> type, int leaves, long workNanos) {
      this(type, leaves, workNanos, 0);
    }

    /**
     * Leaf i's value is {@code base + i} ({@link BenchTasks#works(int, long, long)}: distinct
     * inputs per tree).
     */
    Pairs(TaskType<BenchTasks.Node, Long> type, int leaves, long workNanos, long base) {
      if (Integer.bitCount(leaves) != 1) {
        throw new IllegalArgumentException(
            "the pairs tree needs a power of two of leaves, not " + leaves);
      }
      this.type = type;
      this.leaves = leaves;
      this.workNanos = workNanos;
      this.base = base;
    }

    @Override
    public void start(FlowScope<Long> scope) {
      this.scope = scope;
      for (int i = 0; i < leaves; i++) {
        Work work = BenchTasks.work(base + i, workNanos);
        int index = i;
        scope.push(
            type,
            new BenchTasks.Node(0, i, base + i, 0, workNanos, work.data()),
            (Long v) -> done(0, index, v));
      }
    }

    private void done(int level, int index, long value) {
      if ((leaves >> level) == 1) {
        scope.complete(value);
        return;
      }
      Long buddy = waiting.remove(key(level, index ^ 1));
      if (buddy == null) {
        waiting.put(key(level, index), value);
        return;
      }
      int parent = index >> 1;
      long left = (index & 1) == 0 ? value : buddy;
      long right = (index & 1) == 0 ? buddy : value;
      scope.push(
          type,
          new BenchTasks.Node(level + 1, parent, left, right, workNanos, ""),
          (Long v) -> done(level + 1, parent, v));
    }

    private static long key(int level, int index) {
      return ((long) level << 32) | index;
    }
  }

  /** Wraps a flow and notes when it completes (the root is seen), on the flow's thread. */
  static final class Timed<R> implements FlowLogic<R> {
    private final FlowLogic<R> inner;
    long completedNanos;

    Timed(FlowLogic<R> inner) {
      this.inner = inner;
    }

    @Override
    public void start(FlowScope<R> scope) {
      inner.start(
          new FlowScope<R>() {
            @Override
            public String flowId() {
              return scope.flowId();
            }

            @Override
            public <I, O> void push(TaskType<I, O> type, I input, Consumer<? super O> onResult) {
              scope.push(type, input, onResult);
            }

            @Override
            public void complete(R result) {
              completedNanos = System.nanoTime();
              scope.complete(result);
            }

            @Override
            public void fail(String reason) {
              scope.fail(reason);
            }

            @Override
            public boolean isDone() {
              return scope.isDone();
            }
          });
    }
  }
}
