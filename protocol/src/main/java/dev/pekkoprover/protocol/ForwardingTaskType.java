package dev.pekkoprover.protocol;

/**
 * A task type that forwards everything to another one; extend it to decorate a type (count, time or
 * drill it) without changing its name, types or life cycle. Override {@link #compute} and call
 * {@code super.compute}.
 */
public abstract class ForwardingTaskType<I, R> implements TaskType<I, R> {
  private final TaskType<I, R> delegate;

  protected ForwardingTaskType(TaskType<I, R> delegate) {
    this.delegate = delegate;
  }

  protected TaskType<I, R> delegate() {
    return delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public Class<I> inputType() {
    return delegate.inputType();
  }

  @Override
  public Class<R> resultType() {
    return delegate.resultType();
  }

  @Override
  public String version() {
    return delegate.version();
  }

  @Override
  public boolean isUnprepared() {
    return delegate.isUnprepared();
  }

  @Override
  public boolean runsInline() {
    return delegate.runsInline();
  }

  @Override
  public Object prepare(TaskContext context) throws Exception {
    return delegate.prepare(context);
  }

  @Override
  public R compute(I input, TaskContext context) throws Exception {
    return delegate.compute(input, context);
  }
}
