package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.UnservedTypes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * The sequencer node's log lines for tasks that wait for a worker no one in the fleet will be
 * ({@link UnservedTypes#withNoWorkerComing}): one INFO line once a type has waited {@link
 * #SAY_AFTER} (sooner would name every type at a fleet's start, while its workers join), again
 * every {@link #SAY_AGAIN} while it lasts, and one when the type no longer waits; a type that waits
 * again is said again no sooner than {@link #SAY_AFTER} after that (a worker that joins and dies in
 * a loop does not make two lines a tick). Before, a library user's flow that used a type no worker
 * served waited with no log line at all (a trial's); the launcher's job says it in its progress
 * lines, every node in {@code /status}. Plain state, fed the fleet view the autoscaling reporter
 * asks for every {@code prover.autoscale.interval}.
 */
final class UnservedLog {
  /** How long a type waits before the first line. */
  static final Duration SAY_AFTER = Duration.ofSeconds(30);

  /** How often the line comes again while nothing changed. */
  static final Duration SAY_AGAIN = Duration.ofMinutes(10);

  /** Types said, with when (nanoTime). */
  private final Map<String, Long> said = new HashMap<>();

  /** Types waiting with no worker coming, since the first view that showed it (nanoTime). */
  private final Map<String, Long> waitingSince = new HashMap<>();

  /** Types whose "no longer waits" line was said, with when (nanoTime). */
  private final Map<String, Long> ended = new HashMap<>();

  /** The lines to log for this view, at INFO; none most of the time. */
  List<String> update(FleetView fleet, long nowNanos) {
    List<String> lines = new ArrayList<>();
    SortedMap<String, Long> waiting = UnservedTypes.withNoWorkerComing(fleet);
    boolean complete = fleet.answered() >= fleet.asked();
    for (Iterator<String> it = said.keySet().iterator(); it.hasNext(); ) {
      String type = it.next();
      // a type a partial view leaves out is not known to be served: said again when it answers
      if (!waiting.containsKey(type) && (complete || fleet.types().containsKey(type))) {
        it.remove();
        ended.put(type, nowNanos);
        lines.add(
            "task type "
                + type
                + " no longer waits for a worker: one that serves it is Ready or registering, or"
                + " its tasks are gone");
      }
    }
    waitingSince
        .keySet()
        .removeIf(
            type -> !waiting.containsKey(type) && (complete || fleet.types().containsKey(type)));
    List<String> longEnough = new ArrayList<>();
    boolean due = false;
    for (String type : waiting.keySet()) {
      long since = waitingSince.computeIfAbsent(type, t -> nowNanos);
      // the oldest task's wait where the queue measures it, else this log's own count
      long waitedMillis =
          Math.max(fleet.types().get(type).oldestPendingMillis(), (nowNanos - since) / 1_000_000);
      if (waitedMillis < SAY_AFTER.toMillis()) {
        continue;
      }
      longEnough.add(type);
      Long last = said.get(type);
      Long endedAt = ended.get(type);
      if (last == null
          ? endedAt == null || nowNanos - endedAt >= SAY_AFTER.toNanos()
          : nowNanos - last >= SAY_AGAIN.toNanos()) {
        due = true;
      }
    }
    String line = due ? UnservedTypes.problem(fleet) : null;
    if (line != null) {
      lines.add(line);
      for (String type : longEnough) {
        said.put(type, nowNanos);
      }
    }
    return lines;
  }
}
