package dev.pekkoprover.protocol;

/**
 * What a worker gives a task's {@code prepare} and {@code compute}: who runs it and what
 * registration gave it.
 */
public interface TaskContext {

  String workerId();

  /**
   * The static parameters the worker received through its registration task (null while
   * unregistered).
   */
  Object registration();

  /**
   * {@link #registration()} cast to the expected type; fails with a clear message when it is absent
   * or other.
   */
  default <P> P registration(Class<P> type) {
    Object params = registration();
    if (params == null) {
      throw new IllegalStateException(
          "worker "
              + workerId()
              + " has no registration parameters yet; only unprepared task types may run now");
    }
    if (!type.isInstance(params)) {
      throw new IllegalStateException(
          "worker "
              + workerId()
              + " was registered with "
              + params.getClass().getName()
              + ", not "
              + type.getName());
    }
    return type.cast(params);
  }

  /** The state this task type's {@code prepare} returned on this worker incarnation. */
  <S> S prepared(Class<S> type);
}
