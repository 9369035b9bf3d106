package dev.pekkoprover.protocol;

import java.time.Duration;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.BiPredicate;

/**
 * Task types whose tasks wait in the queue with no worker to run them, read from a {@link
 * FleetView}: the flows that pushed them wait too, for as long as none comes (a task waits for a
 * worker, it is never failed for want of one). The launcher's job says so in its progress lines,
 * {@code /status} in {@code problems}, and the sequencer's node in its log; a library user's flow
 * that used a type no worker served otherwise waited with no sign at all (a trial's).
 */
public final class UnservedTypes {
  private UnservedTypes() {}

  /**
   * Types with tasks pending (worker registration left out) that no Ready worker on a reachable
   * node serves, unless the queue refuses it, with their pending counts, by name.
   */
  public static SortedMap<String, Long> of(FleetView fleet) {
    return pendingWithNo(fleet, UnservedTypes::serves);
  }

  /**
   * Of {@link #of}, the types that no worker is on its way to serve either: none configured for the
   * type is registering (unprepared or registered, on a reachable node, not refused). These wait
   * until a worker for them joins: a problem, not a start-up.
   */
  public static SortedMap<String, Long> withNoWorkerComing(FleetView fleet) {
    return pendingWithNo(
        fleet,
        (worker, type) ->
            serves(worker, type)
                || ((worker.state() == WorkerState.UNPREPARED
                        || worker.state() == WorkerState.REGISTERED)
                    && worker.reachable()
                    && worker.refused() == null
                    && worker.configuredTypes().contains(type)));
  }

  private static boolean serves(FleetView.WorkerView worker, String type) {
    return worker.state() == WorkerState.READY
        && worker.reachable()
        && worker.refused() == null
        && worker.servedTypes().contains(type);
  }

  private static SortedMap<String, Long> pendingWithNo(
      FleetView fleet, BiPredicate<FleetView.WorkerView, String> forType) {
    SortedMap<String, Long> unserved = new TreeMap<>();
    for (Map.Entry<String, FleetView.TypeView> entry : fleet.types().entrySet()) {
      String type = entry.getKey();
      long pending = entry.getValue().counts().pending();
      if (pending > 0
          && !type.equals(WorkerRegistrationTask.NAME)
          && fleet.workers().stream().noneMatch(worker -> forType.test(worker, type))) {
        unserved.put(type, pending);
      }
    }
    return unserved;
  }

  /**
   * The launcher's progress line for {@link #of}: {@code waiting for workers: no Ready worker
   * serves T (n pending); start a worker that serves it}, with how many workers configured for the
   * types the queue refuses (another build); null when there is no such type.
   */
  public static String waitingLine(FleetView fleet) {
    SortedMap<String, Long> unserved = of(fleet);
    if (unserved.isEmpty()) {
      return null;
    }
    StringBuilder line = new StringBuilder("waiting for workers: no Ready worker serves ");
    appendCounts(line, unserved, fleet, false);
    line.append(
        unserved.size() == 1
            ? "; start a worker that serves it"
            : "; start workers that serve them");
    appendRefused(line, unserved, fleet);
    return line.toString();
  }

  /**
   * How long a type's oldest task waits with no worker coming before {@link #problem} names it: a
   * worker node unreachable for a few seconds, or a worker refused until it registers again for a
   * new sequencer run, is not a problem yet.
   */
  public static final Duration PROBLEM_AFTER = Duration.ofSeconds(10);

  /**
   * {@code /status}'s problem and the sequencer's log line for {@link #withNoWorkerComing}, the
   * types whose oldest task has waited {@link #PROBLEM_AFTER} (or whose waits are not measured,
   * {@code prover.metrics.enabled = off}): {@code no worker serves task type T (n pending, the
   * oldest for s s): ...}; null when there is none.
   */
  public static String problem(FleetView fleet) {
    SortedMap<String, Long> unserved = withNoWorkerComing(fleet);
    unserved
        .keySet()
        .removeIf(
            type -> {
              long oldest = fleet.types().get(type).oldestPendingMillis();
              return oldest > 0 && oldest < PROBLEM_AFTER.toMillis();
            });
    if (unserved.isEmpty()) {
      return null;
    }
    StringBuilder line =
        new StringBuilder(
            unserved.size() == 1 ? "no worker serves task type " : "no worker serves task types ");
    appendCounts(line, unserved, fleet, true);
    line.append(
        unserved.size() == 1
            ? ": its tasks, and the flows that pushed them, wait until a worker that serves it"
                + " joins (none in the fleet is Ready for it or registering); start one"
            : ": their tasks, and the flows that pushed them, wait until workers that serve them"
                + " join (none in the fleet is Ready for them or registering); start them");
    appendRefused(line, unserved, fleet);
    return line.toString();
  }

  private static void appendCounts(
      StringBuilder line, SortedMap<String, Long> unserved, FleetView fleet, boolean oldest) {
    String separator = "";
    for (Map.Entry<String, Long> entry : unserved.entrySet()) {
      line.append(separator).append(entry.getKey()).append(" (").append(entry.getValue());
      line.append(" pending");
      long oldestMillis = fleet.types().get(entry.getKey()).oldestPendingMillis();
      if (oldest && oldestMillis > 0) {
        line.append(", the oldest for ").append(oldestMillis / 1000).append(" s");
      }
      line.append(")");
      separator = ", ";
    }
  }

  /**
   * A worker configured for such a type but refused (another build, or keys of an earlier run until
   * it registers again): "start a worker" alone does not say why it waits (a trial's).
   */
  private static void appendRefused(
      StringBuilder line, SortedMap<String, Long> unserved, FleetView fleet) {
    long refused =
        fleet.workers().stream()
            .filter(
                worker ->
                    worker.refused() != null
                        && worker.reachable()
                        && worker.configuredTypes().stream().anyMatch(unserved::containsKey))
            .count();
    if (refused > 0) {
      line.append(" (")
          .append(refused)
          .append(" worker(s) configured for it refused by the queue: /status says why)");
    }
  }
}
