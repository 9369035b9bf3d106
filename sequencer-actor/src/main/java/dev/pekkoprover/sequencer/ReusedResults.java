package dev.pekkoprover.sequencer;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Task results the flows of one actor system completed without running (found in the result store,
 * or computed by another flow), per task type, since the system started. The queue never sees these
 * tasks, so its counts alone make a resumed job look as if it started from nothing; a job's
 * progress adds these (flows run in the JVM of the job that started them, {@code
 * ProverNode.runWithStats}). Written by flow actors, read from any thread.
 */
public final class ReusedResults implements Extension {

  /** The extension's id: {@code ReusedResults.get(system)}. */
  public static final class Id extends ExtensionId<ReusedResults> {
    static final Id INSTANCE = new Id();

    private Id() {}

    @Override
    public ReusedResults createExtension(ActorSystem<?> system) {
      return new ReusedResults();
    }
  }

  public static ReusedResults get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private final Map<String, LongAdder> perType = new ConcurrentHashMap<>();

  private ReusedResults() {}

  /** One task of {@code type} completed from the store (or another flow) without running. */
  void add(String type) {
    perType.computeIfAbsent(type, t -> new LongAdder()).increment();
  }

  /** Task type name to results reused so far, sorted by name. */
  public Map<String, Long> perType() {
    Map<String, Long> counts = new TreeMap<>();
    perType.forEach((type, n) -> counts.put(type, n.sum()));
    return counts;
  }
}
