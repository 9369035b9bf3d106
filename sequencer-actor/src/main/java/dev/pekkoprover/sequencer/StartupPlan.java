package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.flow.FlowScope;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * What the sequencer does before anything can be proven: compile the circuits on some worker (an
 * unprepared task type, so any worker, registered or not, can run it) and turn the results into the
 * static parameters every worker receives at registration (the verification keys).
 */
public final class StartupPlan<I, O> {
  private final TaskType<I, O> compileType;
  private final List<I> requests;
  private final Function<List<O>, Object> toRegistration;

  private StartupPlan(
      TaskType<I, O> compileType, List<I> requests, Function<List<O>, Object> toRegistration) {
    if (!compileType.isUnprepared()) {
      throw new IllegalArgumentException(
          "compile task type '"
              + compileType.name()
              + "' must be unprepared: workers run it before registration");
    }
    this.compileType = compileType;
    this.requests = List.copyOf(requests);
    this.toRegistration = toRegistration;
  }

  /**
   * @param compileType the unprepared compile task
   * @param requests one compile task per input (run in parallel)
   * @param toRegistration the registration parameters built from the compile results, in request
   *     order
   */
  public static <I, O> StartupPlan<I, O> of(
      TaskType<I, O> compileType, List<I> requests, Function<List<O>, Object> toRegistration) {
    return new StartupPlan<>(compileType, requests, toRegistration);
  }

  /** A plan with nothing to compile: workers are registered with fixed parameters. */
  public static StartupPlan<Object, Object> fixed(Object registration) {
    return new StartupPlan<>(NoCompile.INSTANCE, List.of(), results -> registration);
  }

  /**
   * What start-up does before it registers workers, for the sequencer's log: "compiling N
   * circuit(s)", or that a plan made with {@link #fixed} has nothing to compile (a plugin without
   * circuits logged "compiling circuits", a new user's trial).
   */
  String describe() {
    return requests.isEmpty()
        ? "nothing to compile"
        : "compiling " + requests.size() + " circuit(s)";
  }

  /** What start-up did, once done: the counterpart of {@link #describe}. */
  String describeDone() {
    return requests.isEmpty() ? "nothing to compile" : "circuits compiled";
  }

  /**
   * The "compile-circuits" flow: every compile task in parallel, then the registration parameters.
   */
  FlowLogic<Object> compileFlow() {
    return (FlowScope<Object> scope) -> {
      if (requests.isEmpty()) {
        scope.complete(toRegistration.apply(List.of()));
        return;
      }
      List<O> results = new ArrayList<>(requests.size());
      for (int i = 0; i < requests.size(); i++) {
        results.add(null);
      }
      int[] remaining = {requests.size()};
      for (int i = 0; i < requests.size(); i++) {
        int index = i;
        scope.push(
            compileType,
            requests.get(i),
            (O result) -> {
              results.set(index, result);
              if (--remaining[0] == 0) {
                scope.complete(toRegistration.apply(results));
              }
            });
      }
    };
  }

  /** Stands in for a compile type when there is nothing to compile; never enqueued. */
  private static final class NoCompile extends NamedTaskType<Object, Object> {
    private NoCompile() {
      super("no-compile", Object.class, Object.class);
    }

    static final NoCompile INSTANCE = new NoCompile();

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public Object compute(Object input, dev.pekkoprover.protocol.TaskContext context) {
      throw new UnsupportedOperationException("nothing to compile");
    }
  }
}
