package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Which of a worker's configured task types it serves in each life-cycle state, which ones it must
 * prepare, and why it declines a type it does not serve, and the task context each served type runs
 * with. Computed once per worker from its catalog; immutable.
 */
final class ServedTypes {

  /** A type served in some state, with the context its tasks run with there. */
  record ServedType(TaskType<Object, Object> type, TaskContext context) {}

  private final TaskCatalog catalog;
  private final Set<String> unprepared;
  private final Set<String> registered;
  private final Set<String> ready;
  private final List<TaskType<?, ?>> regular;
  private final CatalogFingerprint fingerprint;

  ServedTypes(TaskCatalog catalog) {
    this.catalog = Objects.requireNonNull(catalog, "catalog");
    Set<String> unpreparedNames = new LinkedHashSet<>();
    Set<String> all = new LinkedHashSet<>();
    List<TaskType<?, ?>> regularTypes = new ArrayList<>();
    for (TaskType<?, ?> type : catalog.types()) {
      all.add(type.name());
      if (type.isUnprepared()) {
        unpreparedNames.add(type.name());
      } else {
        regularTypes.add(type);
      }
    }
    all.remove(WorkerRegistrationTask.NAME);
    Set<String> unpreparedButRegistration = new LinkedHashSet<>(unpreparedNames);
    unpreparedButRegistration.remove(WorkerRegistrationTask.NAME);
    this.unprepared = Collections.unmodifiableSet(unpreparedNames);
    this.registered = Collections.unmodifiableSet(unpreparedButRegistration);
    this.ready = Collections.unmodifiableSet(all);
    this.regular = List.copyOf(regularTypes);
    this.fingerprint = CatalogFingerprint.of(catalog);
  }

  /** The versions of its configured types, not registered yet. */
  CatalogFingerprint fingerprint() {
    return fingerprint;
  }

  TaskCatalog catalog() {
    return catalog;
  }

  /** The type names served in that state, in catalog order. */
  Set<String> served(WorkerState state) {
    return switch (state) {
      case UNPREPARED -> unprepared;
      case REGISTERED -> registered;
      case READY -> ready;
      case DRAINING -> Set.of();
    };
  }

  /** The regular types (those with a prepare step), in catalog order: what Registered prepares. */
  List<TaskType<?, ?>> regular() {
    return regular;
  }

  /**
   * The types served in {@code state}, by name, each with its task context: built once per state,
   * so that running a task allocates none.
   *
   * @param registration the registration parameters; null while Unprepared
   * @param prepared what each regular type's prepare returned (may hold nulls), in {@link
   *     #regular()} order: all of them when {@code state} is Ready, else unused
   */
  @SuppressWarnings("unchecked")
  Map<String, ServedType> inState(
      WorkerState state, String workerId, Object registration, List<Object> prepared) {
    Map<String, ServedType> served = new HashMap<>();
    for (String name : served(state)) {
      TaskType<?, ?> type = catalog.get(name);
      int index = regular.indexOf(type);
      TaskContext context =
          index < 0
              ? WorkerTaskContext.withoutPreparedState(
                  workerId,
                  name,
                  registration,
                  "it is an unprepared task type, which has no prepare step")
              : WorkerTaskContext.withPreparedState(
                  workerId, name, registration, prepared.get(index));
      served.put(name, new ServedType((TaskType<Object, Object>) type, context));
    }
    return served;
  }

  /** Why a draining worker declines every task handed to it. */
  static String drainingReason(String workerId) {
    return "worker " + workerId + " drains: its node shuts down, it takes no new task";
  }

  /**
   * Why a worker in {@code state} declines a task of {@code taskType}, which it does not serve in
   * that state.
   */
  String notServedReason(String workerId, WorkerState state, String taskType) {
    if (!catalog.contains(taskType)) {
      return "worker "
          + workerId
          + " is not configured for task type '"
          + taskType
          + "'; it is configured for "
          + ready;
    }
    if (taskType.equals(WorkerRegistrationTask.NAME)) {
      return "worker " + workerId + " is already registered";
    }
    return switch (state) {
      case UNPREPARED ->
          "worker " + workerId + " is not registered yet; until then it serves only " + unprepared;
      case REGISTERED ->
          "worker "
              + workerId
              + " is still preparing its task types; until then it serves only "
              + registered;
      case READY -> "worker " + workerId + " does not serve task type '" + taskType + "'";
      case DRAINING -> drainingReason(workerId);
    };
  }
}
