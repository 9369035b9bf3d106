package dev.pekkoprover.sequencer;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The worker classes (type sets) an actor system's {@link AutoscaleSignal}s have seen, shared by
 * all of them: the exported signal of the sequencer's node ({@code AutoscaleReporter}, every {@code
 * prover.autoscale.interval}) and the one {@code /status} computes at each request. So that the
 * status names the same classes as the metric the autoscaler reads, also after a class's workers
 * are all gone (a class is remembered once seen), and the stand-ins either named for a type no
 * class served ({@link AutoscaleSignal}). Thread-safe.
 */
public final class AutoscaleClasses implements Extension {

  static final class Id extends ExtensionId<AutoscaleClasses> {
    static final Id INSTANCE = new Id();

    @Override
    public AutoscaleClasses createExtension(ActorSystem<?> system) {
      return new AutoscaleClasses();
    }
  }

  /** The one memory of this actor system. */
  public static AutoscaleClasses get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Every class seen, in the order first seen. */
  private final Set<Set<String>> seen = new LinkedHashSet<>();

  /** Every stand-in named, in the order first named. */
  private final Set<Set<String>> standIns = new LinkedHashSet<>();

  /** Each class's slots per worker when it last had workers ({@link AutoscaleSignal}). */
  private final Map<Set<String>, Double> slotsPerWorker = new HashMap<>();

  /**
   * Each type's mean run time in seconds over the last window measured ({@link AutoscaleSignal}).
   */
  private final Map<String, Double> meanRunSeconds = new HashMap<>();

  /**
   * Each type's mean run time in seconds over all the runs its queue entity counted, when last
   * seen: the fallback for a type no window was measured for on this node.
   */
  private final Map<String, Double> meanOfAllRuns = new HashMap<>();

  /** A memory of one's own (a test, or a signal that shares with nobody). */
  public AutoscaleClasses() {}

  /** The classes seen so far, in the order first seen. */
  synchronized List<Set<String>> snapshot() {
    return List.copyOf(seen);
  }

  /** Remembers these classes (those already known keep their place). */
  synchronized void addAll(Set<Set<String>> classes) {
    seen.addAll(classes);
  }

  /** The stand-ins named so far, in the order first named. */
  synchronized List<Set<String>> standIns() {
    return List.copyOf(standIns);
  }

  /** Remembers these stand-ins (those already known keep their place). */
  synchronized void addStandIns(Set<Set<String>> named) {
    standIns.addAll(named);
  }

  /** Remembers a class's slots per worker, seen now. */
  synchronized void slotsPerWorker(Set<String> workerClass, double slots) {
    slotsPerWorker.put(workerClass, slots);
  }

  /** Remembers a type's mean run time over a window, measured now. */
  synchronized void meanRunSeconds(String type, double seconds) {
    meanRunSeconds.put(type, seconds);
  }

  /**
   * Remembers a type's mean run time over all the runs its queue entity counted, seen now: used
   * only while no window's mean is known for the type.
   */
  synchronized void meanOfAllRuns(String type, double seconds) {
    meanOfAllRuns.put(type, seconds);
  }

  /**
   * A type's mean run time: over the last window measured, else over all the runs last seen; null
   * when neither was.
   */
  synchronized Double meanRunSeconds(String type) {
    Double windowed = meanRunSeconds.get(type);
    return windowed != null ? windowed : meanOfAllRuns.get(type);
  }

  /** A class's slots per worker when it last had workers; 1 when it never had any. */
  synchronized double slotsPerWorker(Set<String> workerClass) {
    return slotsPerWorker.getOrDefault(workerClass, 1.0);
  }
}
