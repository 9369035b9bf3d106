package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.TaskContext;

/**
 * The {@link TaskContext} a worker gives one task type's {@code prepare} and {@code compute}:
 * immutable, one per served type per state, built when the worker enters that state so that
 * dispatching a task allocates none.
 */
final class WorkerTaskContext implements TaskContext {
  private final String workerId;
  private final String taskType;
  private final Object registration;
  private final Object prepared;

  /**
   * Why there is no prepared state to hand out, or null when {@link #prepared} holds what prepare
   * returned.
   */
  private final String noPreparedState;

  private WorkerTaskContext(
      String workerId,
      String taskType,
      Object registration,
      Object prepared,
      String noPreparedState) {
    this.workerId = workerId;
    this.taskType = taskType;
    this.registration = registration;
    this.prepared = prepared;
    this.noPreparedState = noPreparedState;
  }

  /**
   * For a type that has no prepare step (or whose prepare is running), with the registration
   * parameters or null.
   */
  static WorkerTaskContext withoutPreparedState(
      String workerId, String taskType, Object registration, String why) {
    return new WorkerTaskContext(workerId, taskType, registration, null, why);
  }

  /**
   * For a regular type on a Ready worker: {@code prepared} is what its prepare returned (may be
   * null).
   */
  static WorkerTaskContext withPreparedState(
      String workerId, String taskType, Object registration, Object prepared) {
    return new WorkerTaskContext(workerId, taskType, registration, prepared, null);
  }

  @Override
  public String workerId() {
    return workerId;
  }

  @Override
  public Object registration() {
    return registration;
  }

  @Override
  public <S> S prepared(Class<S> type) {
    if (noPreparedState != null) {
      throw new IllegalStateException(
          "task type '"
              + taskType
              + "' has no prepared state on worker "
              + workerId
              + ": "
              + noPreparedState);
    }
    if (prepared == null) {
      throw new IllegalStateException(
          "the prepare of task type '"
              + taskType
              + "' returned null on worker "
              + workerId
              + ", so there is no prepared state to ask for");
    }
    if (!type.isInstance(prepared)) {
      throw new IllegalStateException(
          "the prepared state of task type '"
              + taskType
              + "' on worker "
              + workerId
              + " is a "
              + prepared.getClass().getName()
              + ", not "
              + type.getName());
    }
    return type.cast(prepared);
  }

  @Override
  public String toString() {
    return "TaskContext(worker " + workerId + ", type " + taskType + ")";
  }
}
