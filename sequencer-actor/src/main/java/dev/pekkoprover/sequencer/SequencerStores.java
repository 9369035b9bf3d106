package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.slf4j.Logger;

/**
 * The sequencer's two durable stores ({@code prover.persistence.enabled}), spawned as its children
 * so that they move with it when it is a cluster singleton: the task results by content key, which
 * its flows read and write ({@link FlowRunner.Durable}), and the outcomes of completed flows by the
 * flow's name. Holds the sequencer's side of both: which have recovered, and the named outcomes
 * being written. Used by the sequencer's actor only, not thread-safe.
 *
 * <p>What a reader must not miss: outcomes are stored under {@code "<name> @<parameters digest>"},
 * so a flow name proven under other registration parameters runs again; the digest is known only
 * once circuits are compiled ({@link #durableUnder}), and no flow runs before.
 */
final class SequencerStores {
  /**
   * A completed flow whose outcome is being written; told to its requester when the store confirms
   * it.
   */
  private record Storing(ActorRef<FlowResult> requester, FlowResult.Completed completed) {}

  private static final int STORES = 2;

  private final StoreSettings settings;
  private final ResultIndex results;
  private final ActorRef<ResultWriter.Command> resultWriter;
  private final ResultIndex flowOutcomes;
  private final ActorRef<ResultWriter.Command> outcomeWriter;
  private final ActorRef<ResultWriter.Stored> outcomeStored;
  private final StoreHealth resultHealth;
  private final StoreHealth outcomeHealth;
  private final ContentKeys keys;
  private final Logger log;

  /** Stores that have recovered at least once, by persistence id. */
  private final Set<String> recovered = new LinkedHashSet<>();

  private final Map<Long, Storing> storing = new HashMap<>();
  private long storeToken;
  private String outcomeSuffix = "";

  /**
   * Spawns both stores and their writers as children of {@code context}'s actor.
   *
   * @param recovered where each store says it has recovered (again after each restart)
   * @param outcomeStored where the outcome writer confirms writes
   */
  SequencerStores(
      ActorContext<?> context,
      StoreSettings settings,
      ActorRef<ResultStore.Recovered> recovered,
      ActorRef<ResultWriter.Stored> outcomeStored) {
    this.settings = settings;
    this.results = new ResultIndex();
    ProverMetrics metrics = ProverMetrics.get(context.getSystem());
    this.resultHealth = new StoreHealth(metrics, settings.resultsId(), settings.database());
    ActorRef<ResultStore.Command> resultStore =
        context.spawn(
            ResultStore.create(
                settings.resultsId(),
                settings,
                settings.results(),
                results,
                recovered,
                resultHealth),
            "result-store");
    this.resultWriter =
        context.spawn(
            ResultWriter.create(resultStore, settings.resultsId(), settings, resultHealth),
            "result-writer");
    this.flowOutcomes = new ResultIndex();
    this.outcomeHealth = new StoreHealth(metrics, settings.flowsId(), settings.database());
    ActorRef<ResultStore.Command> outcomeStore =
        context.spawn(
            ResultStore.create(
                settings.flowsId(),
                settings,
                settings.flows(),
                flowOutcomes,
                recovered,
                outcomeHealth),
            "flow-outcome-store");
    this.outcomeWriter =
        context.spawn(
            ResultWriter.create(outcomeStore, settings.flowsId(), settings, outcomeHealth),
            "flow-outcome-writer");
    this.outcomeStored = outcomeStored;
    this.keys = new ContentKeys(context.getSystem());
    this.log = context.getLog();
  }

  /**
   * A store has recovered; true the first time for that store (a store restarted after a journal
   * failure: false).
   */
  boolean recovered(String persistenceId) {
    return recovered.add(persistenceId);
  }

  boolean allRecovered() {
    return recovered.size() >= STORES;
  }

  /**
   * For the status API: a line per store whose writes are not confirmed now (the database down or
   * the store restarting); empty while both confirm theirs.
   */
  List<String> problems() {
    List<String> problems = new ArrayList<>(STORES);
    for (StoreHealth health : List.of(resultHealth, outcomeHealth)) {
      String problem = health.problem();
      if (problem != null) {
        problems.add(problem);
      }
    }
    return problems;
  }

  /**
   * What flows need to read and write results under these registration parameters; outcomes are
   * kept under them from now on. Throws IllegalStateException when the parameters cannot be
   * serialised (no digest, so no key).
   */
  FlowRunner.Durable durableUnder(Object parameters) {
    String digest;
    try {
      digest = keys.digest(parameters);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "the registration parameters cannot be serialised, so results cannot be "
              + "stored under them: "
              + e,
          e);
    }
    outcomeSuffix = " @" + digest.substring(0, 16);
    return new FlowRunner.Durable(results, resultWriter, digest);
  }

  /**
   * For the start-up line: {@code "N stored result(s) and M stored flow outcome(s) in <database>"}.
   */
  String describe() {
    return results.size()
        + " stored result(s) and "
        + flowOutcomes.size()
        + " stored flow outcome(s) in "
        + settings.database();
  }

  ResultIndex results() {
    return results;
  }

  ActorRef<ResultWriter.Command> resultWriter() {
    return resultWriter;
  }

  /**
   * The answer to a run of flow {@code name} (as flow {@code flowId}) from its stored outcome
   * ({@link FlowResult.Completed#restored}); null when there is none or it no longer deserialises
   * (logged: the flow then runs again).
   */
  FlowResult.Completed restore(String flowId, String name) {
    StoredResult stored = flowOutcomes.lookup(name + outcomeSuffix);
    if (stored == null) {
      return null;
    }
    try {
      return new FlowResult.Completed(
          flowId, keys.fromStored(stored), FlowResult.FlowStats.NONE, true);
    } catch (RuntimeException e) {
      log.warn(
          "The stored outcome of flow {} does not deserialise ({}): running it again",
          name,
          e.toString());
      return null;
    }
  }

  /** The names among {@code names} with a stored outcome, in the order given. */
  List<String> storedNames(List<String> names) {
    List<String> found = new ArrayList<>();
    for (String name : names) {
      if (flowOutcomes.lookup(name + outcomeSuffix) != null) {
        found.add(name);
      }
    }
    return found;
  }

  /**
   * Writes a completed flow's outcome under its name; {@link #outcomesStored} tells {@code
   * requester} (may be null) once written. False, with a WARN, when the result cannot be
   * serialised: nothing is stored and the caller tells the requester at once.
   */
  boolean storeOutcome(String name, FlowResult.Completed done, ActorRef<FlowResult> requester) {
    StoredResult stored;
    try {
      stored = keys.toStored(name + outcomeSuffix, "flow", done.result());
    } catch (RuntimeException e) {
      log.warn(
          "Flow {}'s result cannot be serialised ({}): not stored, so a later run of that name runs again",
          name,
          e.toString());
      return false;
    }
    long token = ++storeToken;
    storing.put(token, new Storing(requester, done));
    outcomeWriter.tell(new ResultWriter.Put(stored, outcomeStored, token));
    return true;
  }

  /** The outcome writer confirmed these writes: their requesters hear of their flows now. */
  void outcomesStored(ResultWriter.Stored confirmed) {
    for (Long token : confirmed.tokens()) {
      Storing done = storing.remove(token);
      if (done != null && done.requester() != null) {
        done.requester().tell(done.completed());
      }
    }
  }
}
