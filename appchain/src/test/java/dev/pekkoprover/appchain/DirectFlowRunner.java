package dev.pekkoprover.appchain;

import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Runs a {@link FlowLogic} in the test's thread, without queue or workers: pushed tasks wait in a
 * list, and each step computes one of them (the oldest, or a random one when shuffled, so results
 * come back out of order as from many workers) and hands its result to the flow's callback. A task
 * that throws fails the flow with the task's type and the error, as the real flow does after its
 * last attempt.
 *
 * <p>An optional {@code transport} is applied to every input and result, e.g. a serialisation round
 * trip.
 */
final class DirectFlowRunner<R> implements FlowScope<R> {

  private record Pending<I, O>(
      long id, TaskType<I, O> type, I input, Consumer<? super O> onResult) {}

  private final DirectTaskContext context;
  private final Random shuffle;
  private final UnaryOperator<Object> transport;
  private final List<Pending<?, ?>> pending = new ArrayList<>();
  private final Map<String, Integer> tasksRun = new TreeMap<>();
  private long nextId;
  private int maxPending;
  private R result;
  private String failure;
  private boolean done;

  private DirectFlowRunner(Object registration, Random shuffle, UnaryOperator<Object> transport) {
    this.context = DirectTaskContext.create(registration);
    this.shuffle = shuffle;
    this.transport = transport;
  }

  /** Runs tasks oldest first. */
  static <R> DirectFlowRunner<R> fifo(Object registration) {
    return new DirectFlowRunner<>(registration, null, UnaryOperator.identity());
  }

  /** Runs a random pending task at each step. */
  static <R> DirectFlowRunner<R> shuffled(Object registration, long seed) {
    return new DirectFlowRunner<>(registration, new Random(seed), UnaryOperator.identity());
  }

  static <R> DirectFlowRunner<R> create(
      Object registration, Random shuffle, UnaryOperator<Object> transport) {
    return new DirectFlowRunner<>(registration, shuffle, transport);
  }

  /**
   * Starts the flow and runs tasks until it completes or fails; returns this for the assertions.
   */
  DirectFlowRunner<R> run(FlowLogic<R> logic) {
    logic.start(this);
    while (!done) {
      if (pending.isEmpty()) {
        fail("the flow stalled: no task pending and no result");
        break;
      }
      int next = shuffle == null ? 0 : shuffle.nextInt(pending.size());
      step(pending.remove(next));
    }
    return this;
  }

  @SuppressWarnings("unchecked")
  private <I, O> void step(Pending<I, O> task) {
    O output;
    try {
      output = (O) transport.apply(context.run(task.type(), (I) transport.apply(task.input())));
    } catch (Exception e) {
      fail("task " + task.id() + " (type " + task.type().name() + ") failed: " + e.getMessage());
      return;
    }
    tasksRun.merge(task.type().name(), 1, Integer::sum);
    task.onResult().accept(output);
  }

  @Override
  public String flowId() {
    return "direct";
  }

  @Override
  public <I, O> void push(TaskType<I, O> type, I input, Consumer<? super O> onResult) {
    if (done) {
      return;
    }
    pending.add(new Pending<>(nextId++, type, input, onResult));
    maxPending = Math.max(maxPending, pending.size());
  }

  @Override
  public void complete(R value) {
    if (!done) {
      done = true;
      result = value;
    }
  }

  @Override
  public void fail(String reason) {
    if (!done) {
      done = true;
      failure = reason;
    }
  }

  @Override
  public boolean isDone() {
    return done;
  }

  /** The flow's result; fails the test with the flow's failure when it failed. */
  R result() {
    if (failure != null) {
      throw new AssertionError("the flow failed: " + failure);
    }
    if (!done) {
      throw new AssertionError("the flow did not finish");
    }
    return result;
  }

  /** The flow's failure, or null when it completed. */
  String failure() {
    return failure;
  }

  /** Tasks that ran to a result, per type name. */
  Map<String, Integer> tasksRun() {
    return tasksRun;
  }

  /** Most tasks pending at once: how much the flow had in parallel. */
  int maxPending() {
    return maxPending;
  }
}
