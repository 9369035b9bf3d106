package dev.pekkoprover.protocol;

/**
 * The built-in registration task. Its input is the static parameters every worker needs before it
 * can prepare its regular task types (the verification keys from circuit compilation); the
 * sequencer's registration flow keeps one on offer at all times. Only a worker that is still
 * Unprepared serves this type: it takes the parameters, stops serving the type and becomes
 * Registered.
 */
public final class WorkerRegistrationTask
    extends NamedTaskType<Object, WorkerRegistrationTask.Registered> {
  public static final String NAME = "worker-registration";
  public static final WorkerRegistrationTask INSTANCE = new WorkerRegistrationTask();

  /** The registration result: which worker took the parameters. */
  public record Registered(String workerId) implements CborSerializable {}

  private WorkerRegistrationTask() {
    super(NAME, Object.class, Registered.class);
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
  public Registered compute(Object parameters, TaskContext context) {
    return new Registered(context.workerId());
  }
}
