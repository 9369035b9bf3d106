package dev.pekkoprover.protocol;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A short-lived actor that asks one question of several named answerers (a sharded queue's
 * entities, by entity id), replies with the merge of their answers, and stands in for an answerer
 * that does not answer in time with its last answer ({@link LastAnswers}), marked with its age.
 *
 * <p>Why: while a queue node is unreachable (about 4 s after its loss under the shipped failure
 * detector, until the split-brain resolver downs it about 7 s later and its shards start again
 * elsewhere), its entities cannot answer. A plain {@link Gather} waited out its whole timeout (3 s)
 * on every question and then answered without their figures: the sequencer's progress line stopped
 * for 17 s in a trial, {@code /status} took over 2 s per request, and the autoscaling signal
 * dropped the lost node's queued work, as if the fleet needed fewer workers in the middle of a
 * failure. Now:
 *
 * <ul>
 *   <li>the reply goes out once every answerer answered, or at {@code timeout} at the latest;
 *   <li>an answerer that missed the previous gathering's reply is waited for only {@code afterMiss}
 *       (its node is likely gone; an answer that comes later still counts for the next gathering,
 *       and clears the mark): once every other answerer answered and that much has passed, the
 *       reply goes;
 *   <li>an answerer left out is stood in for by its last answer when that is at most {@code
 *       carryOverAtMost} old ({@link Outcome#carried}), so figures do not drop while its shard
 *       moves; an older one is left out, as before.
 * </ul>
 *
 * <p>The actor stays until every question was answered or timed out (at most {@code timeout}), so
 * that a late answer still reaches {@link LastAnswers}, then stops. The questions are sent from the
 * actor's setup; each must complete (answer or fail) within {@code timeout}, as Pekko's ask does.
 */
public final class KeyedGather {
  private KeyedGather() {}

  /**
   * What one gathering got.
   *
   * @param fresh the answers that came in time, by key, in the keys' order
   * @param carried for keys that did not answer in time: their last answer and its age
   * @param asked how many keys were asked
   */
  public record Outcome<A>(Map<String, A> fresh, Map<String, Carried<A>> carried, int asked) {
    /** Whether every key answered in time. */
    public boolean complete() {
      return fresh.size() == asked;
    }
  }

  /**
   * A key's last answer standing in for one it did not give in time.
   *
   * @param ageMillis since that answer came
   */
  public record Carried<A>(A answer, long ageMillis) {}

  /**
   * Each key's last answer and when it came ({@link System#nanoTime}), and which keys missed the
   * last reply. Kept by the owner of a recurring gathering and shared by the gathering actors it
   * spawns in its own JVM (never sent); thread-safe.
   */
  public static final class LastAnswers<A> {
    private record Last<A>(A answer, long atNanos) {}

    private final Map<String, Last<A>> last = new ConcurrentHashMap<>();
    private final Set<String> missed = ConcurrentHashMap.newKeySet();

    void answered(String key, A answer, long nowNanos) {
      last.merge(
          key,
          new Last<>(answer, nowNanos),
          (old, fresh) -> fresh.atNanos - old.atNanos >= 0 ? fresh : old);
      missed.remove(key);
    }

    /**
     * The key did not answer a gathering that began at {@code askedAtNanos}; an answer recorded
     * since (another gathering's) keeps it unmarked.
     */
    void missed(String key, long askedAtNanos) {
      missed.add(key);
      Last<A> l = last.get(key);
      if (l != null && l.atNanos - askedAtNanos > 0) {
        missed.remove(key); // it answered a later gathering meanwhile
      }
    }

    /** Whether the key missed the last reply it was asked for and has not answered since. */
    public boolean missedLast(String key) {
      return missed.contains(key);
    }

    /** The key's last answer if it is at most {@code atMost} old; null otherwise. */
    Carried<A> carried(String key, long nowNanos, Duration atMost) {
      Last<A> l = last.get(key);
      if (l == null || nowNanos - l.atNanos > atMost.toNanos()) {
        return null;
      }
      return new Carried<>(l.answer, (nowNanos - l.atNanos) / 1_000_000);
    }
  }

  private record Answered(String key, Object answer) implements NoSerializationVerificationNeeded {}

  private record NoAnswer(String key) implements NoSerializationVerificationNeeded {}

  private enum Tick implements NoSerializationVerificationNeeded {
    AFTER_MISS,
    TIMEOUT,
    GIVE_UP
  }

  /**
   * @param keys the answerers, each asked once
   * @param ask asks one key; its stage completes with the answer, or fails by {@code timeout}
   * @param timeout the longest the reply waits for a key that answered the last gathering
   * @param afterMiss how long the reply waits for a key that missed the last gathering's reply
   * @param carryOverAtMost the oldest last answer that stands in for a missing one
   * @param last the keys' last answers, shared by the owner's gatherings
   * @param merge makes the reply of what came
   * @param partialAnswers the log of this recurring gathering (a first partial reply says so, a
   *     complete one after partial ones says so); null: no log
   */
  public static <A, R> Behavior<Object> create(
      List<String> keys,
      Function<String, CompletionStage<A>> ask,
      Duration timeout,
      Duration afterMiss,
      Duration carryOverAtMost,
      LastAnswers<A> last,
      Function<Outcome<A>, R> merge,
      ActorRef<R> replyTo,
      PartialAnswers partialAnswers) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(KeyedGather.class);
          return Behaviors.withTimers(
              timers ->
                  new Gathering<>(
                          context,
                          keys,
                          timeout,
                          afterMiss,
                          carryOverAtMost,
                          last,
                          merge,
                          replyTo,
                          partialAnswers)
                      .start(ask, timers));
        });
  }

  private static final class Gathering<A, R> {
    private final ActorContext<Object> context;
    private final List<String> keys;
    private final Duration timeout;
    private final Duration afterMiss;
    private final Duration carryOverAtMost;
    private final LastAnswers<A> last;
    private final Function<Outcome<A>, R> merge;
    private final ActorRef<R> replyTo;
    private final PartialAnswers log;
    private final Map<String, A> answers = new LinkedHashMap<>();
    private final Set<String> resolved = new HashSet<>();
    private final Set<String> suspects = new HashSet<>();
    private boolean afterMissOver;
    private boolean replied;
    private final long startNanos = System.nanoTime();

    Gathering(
        ActorContext<Object> context,
        List<String> keys,
        Duration timeout,
        Duration afterMiss,
        Duration carryOverAtMost,
        LastAnswers<A> last,
        Function<Outcome<A>, R> merge,
        ActorRef<R> replyTo,
        PartialAnswers log) {
      this.context = context;
      this.keys = List.copyOf(new java.util.LinkedHashSet<>(keys)); // each asked once
      this.timeout = timeout;
      this.afterMiss = afterMiss;
      this.carryOverAtMost = carryOverAtMost;
      this.last = last;
      this.merge = merge;
      this.replyTo = replyTo;
      this.log = log;
    }

    @SuppressWarnings("unchecked")
    Behavior<Object> start(
        Function<String, CompletionStage<A>> ask, TimerScheduler<Object> timers) {
      if (keys.isEmpty()) {
        reply(timeout);
        return Behaviors.stopped();
      }
      for (String key : keys) {
        if (last.missedLast(key)) {
          suspects.add(key);
        }
        CompletionStage<A> asked;
        try {
          asked = ask.apply(key);
        } catch (RuntimeException cannotAsk) { // a system shutting down: no answer, a reply still
          asked = java.util.concurrent.CompletableFuture.failedFuture(cannotAsk);
        }
        context.pipeToSelf(
            asked,
            (answer, failure) -> answer != null ? new Answered(key, answer) : new NoAnswer(key));
      }
      timers.startSingleTimer(Tick.TIMEOUT, Tick.TIMEOUT, timeout);
      // a question whose stage never completed would keep the actor: it goes a second later
      timers.startSingleTimer(Tick.GIVE_UP, Tick.GIVE_UP, timeout.plusSeconds(1));
      if (!suspects.isEmpty() && afterMiss.compareTo(timeout) < 0) {
        timers.startSingleTimer(Tick.AFTER_MISS, Tick.AFTER_MISS, afterMiss);
      }
      return Behaviors.receive(Object.class)
          .onMessage(
              Answered.class,
              a -> {
                A answer = (A) a.answer();
                last.answered(a.key(), answer, System.nanoTime());
                if (!replied) {
                  answers.put(a.key(), answer);
                }
                resolved.add(a.key());
                return next();
              })
          .onMessage(
              NoAnswer.class,
              n -> {
                resolved.add(n.key());
                return next();
              })
          .onMessageEquals(
              Tick.AFTER_MISS,
              () -> {
                afterMissOver = true;
                return next();
              })
          .onMessageEquals(
              Tick.TIMEOUT,
              () -> {
                if (!replied) {
                  reply(timeout);
                }
                return next();
              })
          .onMessageEquals(Tick.GIVE_UP, Behaviors::stopped)
          .build();
    }

    private Behavior<Object> next() {
      if (!replied) {
        if (resolved.size() == keys.size() || (afterMissOver && resolvedAllBut(suspects))) {
          reply(waitedSoFar());
        }
      }
      return replied && resolved.size() == keys.size() ? Behaviors.stopped() : Behaviors.same();
    }

    /**
     * How long this gathering has waited, to the next tenth of a second: what its log line says (a
     * reply after the short wait may have waited longer for a slow answerer that had not missed).
     */
    private Duration waitedSoFar() {
      long tenths = (System.nanoTime() - startNanos + 99_999_999L) / 100_000_000L;
      Duration waited = Duration.ofMillis(Math.max(1, tenths) * 100);
      // asks that fail at the timeout resolve a hair after it
      return waited.compareTo(timeout) > 0 ? timeout : waited;
    }

    private boolean resolvedAllBut(Set<String> excepted) {
      for (String key : keys) {
        if (!resolved.contains(key) && !excepted.contains(key)) {
          return false;
        }
      }
      return true;
    }

    private void reply(Duration waited) {
      replied = true;
      long now = System.nanoTime();
      Map<String, A> fresh = new LinkedHashMap<>();
      Map<String, Carried<A>> carried = new LinkedHashMap<>();
      for (String key : keys) {
        A answer = answers.get(key);
        if (answer != null) {
          fresh.put(key, answer);
          continue;
        }
        last.missed(key, startNanos);
        Carried<A> stand = last.carried(key, now, carryOverAtMost);
        if (stand != null) {
          carried.put(key, stand);
        }
      }
      if (log != null) {
        if (fresh.size() == keys.size()) {
          log.complete(context.getLog(), keys.size());
        } else {
          log.timedOut(
              context.getLog(),
              fresh.size(),
              keys.size(),
              waited,
              carried.isEmpty()
                  ? null
                  : "the last answers of "
                      + (carried.size() == keys.size() - fresh.size()
                          ? ""
                          : carried.size() + " of ")
                      + "the other "
                      + (keys.size() - fresh.size())
                      + " stand in for theirs (at most "
                      + PartialAnswers.seconds(carryOverAtMost)
                      + " old)");
        }
      }
      replyTo.tell(merge.apply(new Outcome<>(fresh, carried, keys.size())));
    }
  }

  /** The answers of an outcome as one list: those that came, then those carried over. */
  public static <A> List<A> all(Outcome<A> outcome) {
    List<A> all = new ArrayList<>(outcome.fresh().values());
    outcome.carried().values().forEach(c -> all.add(c.answer()));
    return all;
  }
}
