package dev.pekkoprover.protocol;

import java.util.Objects;

/**
 * The usual way to write a {@link TaskType}: name, input class and result class are given once, to
 * the constructor, and the subclass writes only what is its own ({@code compute}, and {@code
 * prepare}, {@code isUnprepared} or {@code runsInline} when it needs them).
 *
 * <pre>{@code
 * public final class SquareTask extends NamedTaskType<Long, Long> {
 *   public SquareTask() { super("square", Long.class, Long.class); }
 *   public Long compute(Long input, TaskContext context) { return input * input; }
 * }
 * }</pre>
 */
public abstract class NamedTaskType<I, R> implements TaskType<I, R> {
  private final String name;
  private final Class<I> inputType;
  private final Class<R> resultType;

  protected NamedTaskType(String name, Class<I> inputType, Class<R> resultType) {
    this.name = Objects.requireNonNull(name, "name");
    this.inputType = Objects.requireNonNull(inputType, "inputType");
    this.resultType = Objects.requireNonNull(resultType, "resultType");
    if (name.isBlank()) {
      throw new IllegalArgumentException("a task type needs a name: it is also its queue's name");
    }
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final Class<I> inputType() {
    return inputType;
  }

  @Override
  public final Class<R> resultType() {
    return resultType;
  }

  @Override
  public String toString() {
    return name;
  }
}
