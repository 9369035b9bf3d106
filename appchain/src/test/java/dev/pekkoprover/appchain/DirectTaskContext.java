package dev.pekkoprover.appchain;

import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import java.util.HashMap;
import java.util.Map;

/**
 * A worker's task context without a worker: registration parameters, and each type's prepared
 * state, made by its {@code prepare} the first time the type runs (as a worker prepares each type
 * once it is registered).
 */
final class DirectTaskContext {
  private final Object registration;
  private final Map<String, Object> prepared = new HashMap<>();

  private DirectTaskContext(Object registration) {
    this.registration = registration;
  }

  static DirectTaskContext create(Object registration) {
    return new DirectTaskContext(registration);
  }

  /** Runs one task as a registered worker would: prepare once per type, then compute. */
  <I, O> O run(TaskType<I, O> type, I input) throws Exception {
    TaskContext context = contextFor(type);
    return type.compute(input, context);
  }

  private TaskContext contextFor(TaskType<?, ?> type) throws Exception {
    if (!type.isUnprepared() && !prepared.containsKey(type.name())) {
      prepared.put(type.name(), type.prepare(new Context(type.name(), null)));
    }
    return new Context(type.name(), prepared.get(type.name()));
  }

  private final class Context implements TaskContext {
    private final String typeName;
    private final Object state;

    Context(String typeName, Object state) {
      this.typeName = typeName;
      this.state = state;
    }

    @Override
    public String workerId() {
      return "direct";
    }

    @Override
    public Object registration() {
      return registration;
    }

    @Override
    public <S> S prepared(Class<S> type) {
      if (!type.isInstance(state)) {
        throw new IllegalStateException(
            typeName + " was prepared with " + state + ", not a " + type.getName());
      }
      return type.cast(state);
    }
  }
}
