package dev.pekkoprover.protocol;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The task types a node knows, by name. The built-in {@link WorkerRegistrationTask} is always in
 * it. The queue refuses a task whose type is not in its catalog; a worker serves the subset it is
 * configured with.
 */
public final class TaskCatalog {
  private final Map<String, TaskType<?, ?>> byName;

  private TaskCatalog(Map<String, TaskType<?, ?>> byName) {
    this.byName = Collections.unmodifiableMap(byName);
  }

  public static TaskCatalog of(TaskType<?, ?>... types) {
    return of(List.of(types));
  }

  public static TaskCatalog of(Collection<? extends TaskType<?, ?>> types) {
    Map<String, TaskType<?, ?>> byName = new LinkedHashMap<>();
    byName.put(WorkerRegistrationTask.NAME, WorkerRegistrationTask.INSTANCE);
    for (TaskType<?, ?> type : types) {
      if (type.name().contains("#")) {
        // "type#n" is the entity id of a type's partition n (prover.queue.cluster.partitions): a
        // name with '#' would share its queue entity with another type's partition
        throw new IllegalArgumentException(
            "task type '"
                + type.name()
                + "' ("
                + type.getClass().getName()
                + ") has a '#' in its name: '#' separates a type from its partition number in the"
                + " queue's entity ids; rename it");
      }
      TaskType<?, ?> previous = byName.putIfAbsent(type.name(), type);
      if (previous != null && previous != type) {
        throw new IllegalArgumentException(
            "two task types are named '"
                + type.name()
                + "': "
                + previous.getClass().getName()
                + " and "
                + type.getClass().getName()
                + "; task type names are queue names and must be unique");
      }
    }
    return new TaskCatalog(byName);
  }

  public Optional<TaskType<?, ?>> find(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /** The type of that name; fails with the list of known names when there is none. */
  public TaskType<?, ?> get(String name) {
    TaskType<?, ?> type = byName.get(name);
    if (type == null) {
      throw new IllegalArgumentException(unknownTypeMessage(name));
    }
    return type;
  }

  public boolean contains(String name) {
    return byName.containsKey(name);
  }

  public Set<String> names() {
    return byName.keySet();
  }

  public Collection<TaskType<?, ?>> types() {
    return byName.values();
  }

  /**
   * This catalog restricted to the named types (plus registration); fails on a name it does not
   * know.
   */
  public TaskCatalog subset(Collection<String> names) {
    Map<String, TaskType<?, ?>> chosen = new LinkedHashMap<>();
    chosen.put(WorkerRegistrationTask.NAME, WorkerRegistrationTask.INSTANCE);
    for (String name : names) {
      chosen.put(name, get(name));
    }
    return new TaskCatalog(chosen);
  }

  public String unknownTypeMessage(String name) {
    return "unknown task type '"
        + name
        + "'; this node knows "
        + byName.keySet()
        + ". Register the type in the node's TaskCatalog (and on the workers that should serve it)";
  }
}
