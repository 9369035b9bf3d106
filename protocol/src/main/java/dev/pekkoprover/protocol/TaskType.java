package dev.pekkoprover.protocol;

/**
 * A kind of proving work: the task SPI. Its {@link #name()} is also the name of its queue.
 *
 * <p>Inputs and results are typed values (records implementing {@link CborSerializable}, or plain
 * JDK values such as {@code Long} or {@code String}). In one JVM they travel as objects; Jackson
 * serialises them only when they cross a node.
 *
 * <p>A <em>regular</em> type may have a {@link #prepare} step (load or compile a circuit) that runs
 * once per worker incarnation, after the worker has been registered. An <em>unprepared</em> type
 * has none and may run on a worker that has not been registered yet (circuit compilation, worker
 * registration).
 *
 * <p>{@link #compute} runs off the worker actor's thread unless {@link #runsInline()} says the type
 * is cheap. Throwing from it fails the task, which the queue retries with backoff; throw {@link
 * PermanentTaskFailure} when a retry cannot help (a proof that does not verify) and {@link
 * WorkerFault} when this worker is no longer sound and must be restarted.
 */
public interface TaskType<I, R> {

  /** Unique name; also the queue name. */
  String name();

  Class<I> inputType();

  Class<R> resultType();

  /**
   * The version of this type's contract: its input, its result and, for a proving type, its
   * circuit. Bump it when any of them changes incompatibly; a worker whose version of a type
   * differs from the queue's gets no work at all ({@link CatalogFingerprint}), so a mixed-version
   * rollout cannot hand a task to a worker that would fail it. The shape of the input and result
   * classes is compared as well ({@link ContractShape}), which catches a changed record whose
   * version was not bumped, but not a changed circuit. Default {@code "1"}.
   */
  default String version() {
    return "1";
  }

  /** True for types that need no {@link #prepare} and run before registration. */
  default boolean isUnprepared() {
    return false;
  }

  /**
   * Once per worker incarnation, after registration and before the first {@link #compute}; runs off
   * the actor's thread. Returns this type's prepared state on that worker (a loaded circuit), or
   * null; {@link TaskContext#prepared(Class)} hands it to {@code compute}.
   */
  default Object prepare(TaskContext context) throws Exception {
    return null;
  }

  R compute(I input, TaskContext context) throws Exception;

  /**
   * True when {@code compute} is so cheap (microseconds, no I/O) that handing it to another thread
   * would cost more than the work; it then runs on the worker actor's own thread.
   */
  default boolean runsInline() {
    return false;
  }
}
