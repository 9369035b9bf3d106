package dev.pekkoprover.node;

import java.util.Collection;
import java.util.List;

/**
 * Workers of one kind on a node: how many, which task types they serve (by name; empty means every
 * type in the node's catalog) and how many tasks each holds at once.
 */
public record WorkerGroup(int count, List<String> taskTypes, int concurrency) {
  public WorkerGroup {
    if (count < 0 || concurrency < 1) {
      throw new IllegalArgumentException("a worker group needs count >= 0 and concurrency >= 1");
    }
    taskTypes = List.copyOf(taskTypes);
  }

  public static WorkerGroup of(int count, Collection<String> taskTypes, int concurrency) {
    return new WorkerGroup(count, List.copyOf(taskTypes), concurrency);
  }

  /** {@code count} workers serving every type of the catalog. */
  public static WorkerGroup allTypes(int count, int concurrency) {
    return new WorkerGroup(count, List.of(), concurrency);
  }
}
