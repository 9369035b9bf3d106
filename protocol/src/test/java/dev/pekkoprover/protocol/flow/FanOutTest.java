package dev.pekkoprover.protocol.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * {@link FanOut}: one task per input pushed at once, the flow's result made from every result in
 * the inputs' order, whatever order they come back in. A scope of the test's own runs the callbacks
 * in the order it chooses.
 */
class FanOutTest {

  /** Records the pushes and completes; the test delivers the results. */
  private static final class Scope implements FlowScope<String> {
    final List<Object> inputs = new ArrayList<>();
    final List<Consumer<Object>> callbacks = new ArrayList<>();
    String completed;
    int completions;

    @Override
    public String flowId() {
      return "fan-out-1";
    }

    @Override
    @SuppressWarnings("unchecked")
    public <I, O> void push(TaskType<I, O> type, I input, Consumer<? super O> onResult) {
      inputs.add(input);
      callbacks.add(value -> onResult.accept((O) value));
    }

    @Override
    public void complete(String result) {
      completed = result;
      completions++;
    }

    @Override
    public void fail(String reason) {
      throw new AssertionError("failed: " + reason);
    }

    @Override
    public boolean isDone() {
      return completions > 0;
    }
  }

  private static String joined(List<Num> results) {
    return String.join(",", results.stream().map(n -> Long.toString(n.value())).toList());
  }

  @Test
  void everyInputIsPushedAtOnceAndTheResultsAreCombinedInTheInputsOrder() {
    Scope scope = new Scope();
    List<Num> inputs = List.of(Num.of(1), Num.of(2), Num.of(3), Num.of(4));
    new FanOut<>(TestTasks.Square.INSTANCE, inputs, FanOutTest::joined).start(scope);
    assertEquals(inputs, scope.inputs, "all pushed in start, in order");

    // results come back last first, then the others out of order
    scope.callbacks.get(3).accept(Num.of(16));
    scope.callbacks.get(1).accept(Num.of(4));
    scope.callbacks.get(0).accept(Num.of(1));
    assertNull(scope.completed, "not before every result is in");
    assertFalse(scope.isDone());
    scope.callbacks.get(2).accept(Num.of(9));
    assertEquals("1,4,9,16", scope.completed);
    assertEquals(1, scope.completions);
  }

  @Test
  void noInputsCompleteAtOnceWithAnEmptyList() {
    Scope scope = new Scope();
    new FanOut<>(TestTasks.Square.INSTANCE, List.<Num>of(), results -> "n=" + results.size())
        .start(scope);
    assertEquals(List.of(), scope.inputs);
    assertEquals("n=0", scope.completed);
  }

  @Test
  void eachStartRunsAnewAndTheCombinedListCannotBeChanged() {
    FanOut<Num, Num, String> flow =
        new FanOut<>(
            TestTasks.Square.INSTANCE,
            List.of(Num.of(5)),
            results -> {
              assertThrows(UnsupportedOperationException.class, () -> results.add(Num.of(0)));
              return joined(results);
            });
    for (int run = 0; run < 2; run++) { // a flow restarted after a crash starts again
      Scope scope = new Scope();
      flow.start(scope);
      scope.callbacks.get(0).accept(Num.of(25));
      assertEquals("25", scope.completed);
    }
  }
}
