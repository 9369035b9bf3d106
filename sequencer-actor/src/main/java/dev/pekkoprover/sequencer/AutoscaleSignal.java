package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * How many workers each worker class needs, from the queue's view of the fleet: per class (the set
 * of task types its workers serve once Ready), the outstanding work in worker-seconds, the sum over
 * its types of (pending + in flight) times the type's measured mean run time, and the workers
 * needed to clear it within the target, rounded up, each running as many tasks at once as the
 * class's workers have slots (their capacity; 1 before any was seen). A trial's two-slot workers
 * were asked for twice over while the signal took each for one slot.
 *
 * <p>Not to miss: tasks in flight count. A scaler that saw only pending tasks would see no work
 * while every worker is busy with the last long proofs, scale the fleet down and kill workers
 * mid-proof (Aztec's prover-agent autoscaler did, aztec-packages #25232). A type served by several
 * classes has its work split among them by their capacity (equally while none has workers); classes
 * are remembered once seen, so a class whose workers are all gone still gets its demand (scaling up
 * from zero), also by the node's other signals ({@link AutoscaleClasses}).
 *
 * <p>A type with work that no class serves (no worker announced itself yet, none is configured for
 * it) is a class of its own, a stand-in: remembered once named as well, so that every demand named
 * once is in every later answer and follows the queue (an exported gauge of a class left out would
 * keep its last value for the rest of the run), but it gets a type's work only while no class
 * serves the type; once workers announce a class that does, the stand-in reads 0. Not thread-safe:
 * one owner calls it.
 */
public final class AutoscaleSignal {

  /**
   * One class's demand.
   *
   * @param workerClass its configured name, or its types joined by {@code +}
   * @param types the task types its workers serve
   * @param workers workers of the class the queue knows now
   * @param outstandingWorkerSeconds its share of (pending + in flight) x mean run time, over its
   *     types
   * @param workersNeeded outstanding / (target x the class's slots per worker), rounded up
   */
  public record Demand(
      String workerClass,
      List<String> types,
      int workers,
      double outstandingWorkerSeconds,
      int workersNeeded) {}

  /**
   * A type's run-time counters at one moment: the window's mean is the difference of two of them.
   */
  private record Sample(long atNanos, long runs, long runNanos) {}

  private final double targetSeconds;
  private final double unmeasuredSeconds;
  private final long windowNanos;

  /** Configured classes by type set. */
  private final Map<Set<String>, String> names = new HashMap<>();

  /** Every class configured or seen, in that order. */
  private final Set<Set<String>> classes = new LinkedHashSet<>();

  /**
   * Stand-ins named so far: a class of one type for a type with work no class served then. Work
   * only for a type no class serves now.
   */
  private final Set<Set<String>> standIns = new LinkedHashSet<>();

  private final Map<String, ArrayDeque<Sample>> samples = new HashMap<>();

  /** Where the classes seen are shared with the node's other signals. */
  private final AutoscaleClasses memory;

  /** A signal that remembers the classes it has seen on its own. */
  public AutoscaleSignal(AutoscaleSettings settings) {
    this(settings, new AutoscaleClasses());
  }

  /**
   * A signal that shares the classes seen with the others of {@code memory} (the node's: {@link
   * AutoscaleClasses#get}), so that each names every class any of them has seen.
   */
  public AutoscaleSignal(AutoscaleSettings settings, AutoscaleClasses memory) {
    this.memory = memory;
    this.targetSeconds = settings.target().toNanos() / 1e9;
    this.unmeasuredSeconds = settings.unmeasuredRunTime().toNanos() / 1e9;
    this.windowNanos = settings.window().toNanos();
    settings
        .workerClasses()
        .forEach(
            (name, types) -> {
              Set<String> set = Set.copyOf(types);
              names.put(set, name);
              classes.add(set);
            });
  }

  /** The demand of every class known, from a fresh view of the fleet taken at {@code nowNanos}. */
  public List<Demand> update(FleetView view, long nowNanos) {
    classes.addAll(memory.snapshot());
    standIns.addAll(memory.standIns());
    Map<Set<String>, int[]> membership = new LinkedHashMap<>(); // class -> {workers, capacity}
    for (FleetView.WorkerView worker : view.workers()) {
      Set<String> types = classOf(worker.configuredTypes());
      if (types.isEmpty()) {
        continue;
      }
      classes.add(types);
      if (worker.refused() != null) {
        continue; // the queue gives it no work (another build): no capacity; replacing it is the
        // operator's call
      }
      int[] counts = membership.computeIfAbsent(types, t -> new int[2]);
      counts[0]++;
      counts[1] += worker.capacity();
    }
    memory.addAll(classes);
    membership.forEach(
        (types, counts) -> {
          if (counts[0] > 0 && counts[1] > 0) {
            // a worker of capacity c clears c tasks at once: c times fewer workers for the same
            // compute; kept in the shared memory, so /status and a new sequencer's signal agree
            memory.slotsPerWorker(types, (double) counts[1] / counts[0]);
          }
        });
    Map<Set<String>, Double> outstanding = new LinkedHashMap<>();
    for (Set<String> types : classes) {
      outstanding.put(types, 0.0);
    }
    for (Set<String> types : standIns) {
      outstanding.putIfAbsent(types, 0.0); // one a worker's class since: already there
    }
    view.types()
        .forEach(
            (type, queue) -> {
              if (type.equals(WorkerRegistrationTask.NAME)) {
                return;
              }
              double mean = meanRunSeconds(type, queue, nowNanos);
              double work = (queue.counts().pending() + queue.counts().inFlight()) * mean;
              if (work <= 0) {
                return;
              }
              List<Set<String>> serving = new ArrayList<>();
              long capacity = 0;
              for (Set<String> types : classes) {
                if (types.contains(type)) {
                  serving.add(types);
                  capacity += membership.getOrDefault(types, new int[2])[1];
                }
              }
              if (serving
                  .isEmpty()) { // no worker ever served it and no class is configured for it: a
                // class of its own, named from now on
                standIns.add(Set.of(type));
                outstanding.merge(Set.of(type), work, Double::sum);
                return;
              }
              for (Set<String> types : serving) {
                double share =
                    capacity == 0
                        ? 1.0 / serving.size()
                        : (double) membership.getOrDefault(types, new int[2])[1] / capacity;
                outstanding.merge(types, work * share, Double::sum);
              }
            });
    memory.addStandIns(standIns);
    List<Demand> demands = new ArrayList<>();
    outstanding.forEach(
        (types, seconds) ->
            demands.add(
                new Demand(
                    nameOf(types),
                    List.copyOf(new TreeSet<>(types)),
                    membership.getOrDefault(types, new int[2])[0],
                    seconds,
                    workersNeeded(seconds, memory.slotsPerWorker(types)))));
    return demands;
  }

  /**
   * Workers that clear {@code seconds} of compute within the target, each running {@code slots}
   * tasks at once (the run times measured are those of tasks sharing a worker so, so a slot's time
   * is what they took).
   */
  private int workersNeeded(double seconds, double slots) {
    // a hair under an integer is that integer: floating-point sums must not ask for one worker more
    return (int) Math.ceil(seconds / (targetSeconds * slots) - 1e-9);
  }

  /** A worker's class: the types it serves once Ready, registration aside. */
  private static Set<String> classOf(List<String> configuredTypes) {
    Set<String> types = new TreeSet<>(configuredTypes);
    types.remove(WorkerRegistrationTask.NAME);
    return Set.copyOf(types);
  }

  private String nameOf(Set<String> types) {
    String name = names.get(types);
    return name != null ? name : String.join("+", new TreeSet<>(types));
  }

  /**
   * The mean run time over about the last window: the difference between this view's counters and
   * the oldest kept that is at most a window old; all runs so far when none completed in the
   * window; when none completed since the type's queue entity started (again), the last window's
   * mean measured on this node ({@link AutoscaleClasses}: by the exported signal, whose samples
   * span a window, or on a standby sequencer node by {@link AutoscaleStandby}), else the mean of
   * all runs last seen there, kept until the entity's first run; the assumed time when none was.
   * Counters that went down (a queue entity started again elsewhere) start the window anew.
   *
   * <p>Not to miss: an entity started again after its queue node's loss has counted no run yet,
   * while the tasks re-sent to it are pending. With the assumed 10 s for each, a trial's signal
   * asked for 81 workers of a class that needed 2, for the seconds until its first results: an
   * autoscaler without a scale-up stabilization window would have started them.
   */
  private double meanRunSeconds(String type, FleetView.TypeView queue, long nowNanos) {
    ArrayDeque<Sample> window = samples.computeIfAbsent(type, t -> new ArrayDeque<>());
    Sample last = window.peekLast();
    if (last != null && (queue.runs() < last.runs() || queue.runNanos() < last.runNanos())) {
      window.clear();
    }
    window.addLast(new Sample(nowNanos, queue.runs(), queue.runNanos()));
    while (window.size()
        > 1) { // drop samples until the oldest is the newest one at least a window old
      Sample first = window.pollFirst();
      if (nowNanos - window.peekFirst().atNanos() < windowNanos) {
        window.addFirst(first);
        break;
      }
    }
    Sample first = window.peekFirst();
    long runs = queue.runs() - first.runs();
    if (runs > 0) {
      double mean = (queue.runNanos() - first.runNanos()) / 1e9 / runs;
      // only a window's mean is kept: a signal with one sample (the status's, fresh at each
      // request) has the mean of all runs, which lags a type whose tasks got slower or faster
      memory.meanRunSeconds(type, mean);
      return mean;
    }
    if (queue.runs() > 0) {
      // kept too, but only as a fallback: a standby's memory may have had no window yet when the
      // node it stood by for, and that node's queue entities, were lost (AutoscaleStandby)
      memory.meanOfAllRuns(type, queue.meanRunSeconds());
      return queue.meanRunSeconds();
    }
    Double known = memory.meanRunSeconds(type);
    return known != null ? known : unmeasuredSeconds;
  }
}
