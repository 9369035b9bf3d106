package dev.pekkoprover.sequencer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Task results the flows of one actor system accepted since it started, per task type: those a
 * worker computed (each task once, whatever copies of it ran: a second result of a task is a
 * duplicate and not counted; with durability on, counted once the result store confirmed it, so a
 * database outage does not show as progress), and those completed without running (found in the
 * result store, or computed by another flow's identical task). A job's progress and summary read
 * these: flows run in the JVM of the job that started them ({@code ProverNode.runWithStats}), and
 * these counts stay right when a queue node is lost or a standby takes over, where the queue
 * entities' own counters start again from 0 on their new node (an operator's trial saw the
 * summary's counts go back). Written by flow actors (one {@link LongAdder} increment per result),
 * read from any thread.
 */
public final class TaskResultCounts implements Extension {

  /** The extension's id: {@code TaskResultCounts.get(system)}. */
  public static final class Id extends ExtensionId<TaskResultCounts> {
    static final Id INSTANCE = new Id();

    private Id() {}

    @Override
    public TaskResultCounts createExtension(ActorSystem<?> system) {
      return new TaskResultCounts();
    }
  }

  public static TaskResultCounts get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** A type's two counters. */
  private static final class Counts {
    final LongAdder computed = new LongAdder();
    final LongAdder reused = new LongAdder();
  }

  private final Map<String, Counts> perType = new ConcurrentHashMap<>();

  /** Type names in the order their first result came: a job's pipeline order, for its lines. */
  private final CopyOnWriteArrayList<String> order = new CopyOnWriteArrayList<>();

  private TaskResultCounts() {}

  /**
   * A worker's result of one task of {@code type}: the first one of that task the flow took; with
   * durability on, once the result store confirmed it (what a crash keeps).
   */
  void computed(String type) {
    counts(type).computed.increment();
  }

  /** One task of {@code type} completed from the store (or another flow) without running. */
  void reused(String type) {
    counts(type).reused.increment();
  }

  private Counts counts(String type) {
    Counts counts = perType.get(type); // present but for a type's first result: no lock
    return counts != null ? counts : perType.computeIfAbsent(type, this::firstOf);
  }

  private Counts firstOf(String type) {
    order.add(type);
    return new Counts();
  }

  /** Task type name to results computed so far, types in the order their first result came. */
  public Map<String, Long> computedPerType() {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (String type : order) {
      Counts of = perType.get(type); // null for a moment: listed before it is in the map
      long n = of == null ? 0 : of.computed.sum();
      if (n > 0) {
        counts.put(type, n);
      }
    }
    return counts;
  }

  /** Task type name to results reused so far, types in the order their first result came. */
  public Map<String, Long> reusedPerType() {
    Map<String, Long> counts = new LinkedHashMap<>();
    for (String type : order) {
      Counts of = perType.get(type);
      long n = of == null ? 0 : of.reused.sum();
      if (n > 0) {
        counts.put(type, n);
      }
    }
    return counts;
  }
}
