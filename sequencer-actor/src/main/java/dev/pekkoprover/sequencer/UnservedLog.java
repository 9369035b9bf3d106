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
 * ({@link UnservedTypes#withNoWorkerComing}): one INFO line once a type's oldest task has waited
 * {@link #SAY_AFTER} (sooner would name every type at a fleet's start, while its workers join),
 * again every {@link #SAY_AGAIN} while it lasts, and one when the type no longer waits. Before, a
 * library user's flow that used a type no worker served waited with no log line at all (a trial's);
 * the launcher's job says it in its progress lines, every node in {@code /status}. Plain state, fed
 * the fleet view the autoscaling reporter asks for every {@code prover.autoscale.interval}.
 */
final class UnservedLog {
  /** How long a type's oldest task waits before the first line. */
  static final Duration SAY_AFTER = Duration.ofSeconds(30);

  /** How often the line comes again while nothing changed. */
  static final Duration SAY_AGAIN = Duration.ofMinutes(10);

  /** Types said, with when (nanoTime). */
  private final Map<String, Long> said = new HashMap<>();

  /** The lines to log for this view, at INFO; none most of the time. */
  List<String> update(FleetView fleet, long nowNanos) {
    List<String> lines = new ArrayList<>();
    SortedMap<String, Long> waiting = UnservedTypes.withNoWorkerComing(fleet);
    boolean complete = fleet.answered() >= fleet.asked();
    for (Iterator<Map.Entry<String, Long>> it = said.entrySet().iterator(); it.hasNext(); ) {
      String type = it.next().getKey();
      // a type a partial view leaves out is not known to be served: said again when it answers
      if (!waiting.containsKey(type) && (complete || fleet.types().containsKey(type))) {
        it.remove();
        lines.add(
            "task type "
                + type
                + " no longer waits for a worker: one that serves it is Ready or registering, or"
                + " its tasks are gone");
      }
    }
    boolean due = false;
    for (String type : waiting.keySet()) {
      Long last = said.get(type);
      boolean oldEnough = fleet.types().get(type).oldestPendingMillis() >= SAY_AFTER.toMillis();
      if (oldEnough && (last == null || nowNanos - last >= SAY_AGAIN.toNanos())) {
        due = true;
      }
    }
    if (due) {
      lines.add(UnservedTypes.problem(fleet));
      for (String type : waiting.keySet()) {
        if (fleet.types().get(type).oldestPendingMillis() >= SAY_AFTER.toMillis()) {
          said.put(type, nowNanos);
        }
      }
    }
    return lines;
  }
}
