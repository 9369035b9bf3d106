package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.DeleteEventsFailed;
import org.apache.pekko.persistence.typed.DeleteSnapshotsFailed;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * A durable, bounded map of results by key, event-sourced with Pekko Persistence: its event is
 * "results stored" ({@link StoredBatch}: the results of one group commit in as few journal rows as
 * its bounds allow); its state ({@link ResultStoreState}) evicts by count and bytes; it snapshots
 * every {@code snapshot-every} events or {@code snapshot-every-bytes} of results, whichever comes
 * first (a write is followed by empty events for its bytes: {@link
 * StoreSettings.Bounds#fillersFor}), and deletes the events before its older kept snapshot, so the
 * journal stays bounded too: at most about (keep-snapshots + 1) x snapshot-every events holding
 * about (keep-snapshots + 1) x snapshot-every-bytes of results (plus one write's worth), and
 * keep-snapshots + 1 snapshots (Pekko deletes the oldest with the next snapshot).
 *
 * <p>It writes what it is given as one {@code persistAll} per {@link Write} (in events of up to
 * {@code results-per-event} results) and answers {@link Written} once the journal confirmed it;
 * {@link ResultWriter} in front of it gathers the results that arrive while a write is in flight
 * into the next one (group commit). Results already stored are not written again, so a write
 * repeated after a timeout adds nothing. Flows read the state through {@link ResultIndex}, which it
 * publishes after each recovery.
 *
 * <p>When the journal fails (a write or the recovery) Pekko restarts it with backoff ({@code
 * prover.persistence.restart}); each failure logs one ERROR line naming the database and what to
 * do. Nothing it has not confirmed is acknowledged, and its writer repeats an unconfirmed write
 * until it is.
 */
public final class ResultStore
    extends EventSourcedBehavior<ResultStore.Command, StoreEvent, ResultStoreState> {

  public interface Command extends CborSerializable {}

  /** Store these results; {@link Written} once they are in the journal. */
  public record Write(List<StoredResult> results, ActorRef<Written> replyTo) implements Command {}

  /**
   * @param stored results written by this write (the others were stored already)
   */
  public record Written(int stored) implements CborSerializable {}

  /** Told to the owner after each recovery (at start and after a restart). */
  public record Recovered(String persistenceId, int entries, long bytes, long millis)
      implements CborSerializable {}

  /** What a snapshot holds: the entries, oldest first. */
  public record Snapshot(List<StoredResult> entries) implements CborSerializable {}

  private final ActorContext<Command> context;
  private final StoreSettings settings;
  private final StoreSettings.Bounds bounds;
  private final ResultIndex index;
  private final ActorRef<Recovered> recovered;

  /** Its writer's health, told each failure's remedy; null for a store without one. */
  private final StoreHealth health;

  /**
   * What {@link #emptyState()} gave Pekko, which its restart after a journal failure replays onto:
   * {@link ResultStoreState#reset() reset} by the signals that precede that restart.
   */
  private ResultStoreState initial;

  /**
   * {@link System#nanoTime} of this store's start, or of the first journal failure since its last
   * recovery ({@link #afterFailure}): what the recovery line measures from.
   */
  private long recoveringSince = System.nanoTime();

  /** The journal failed since the last recovery: the next one is a restart's. */
  private boolean afterFailure;

  /** Which journal failures of an outage get an ERROR line. */
  private final OutageLines outage = new OutageLines();

  /**
   * Result bytes written that no event has counted for yet in the snapshot cadence ({@link
   * StoreSettings.Bounds#uncounted}); 0 again when this store starts, which moves the next snapshot
   * by less than one event's worth.
   */
  private long uncounted;

  /**
   * @param persistenceId the journal's id for this store (one writer at a time: the sequencer's
   *     child)
   * @param index where flows read the store; published after each recovery
   * @param recovered told after each recovery
   */
  public static Behavior<Command> create(
      String persistenceId,
      StoreSettings settings,
      StoreSettings.Bounds bounds,
      ResultIndex index,
      ActorRef<Recovered> recovered) {
    return create(persistenceId, settings, bounds, index, recovered, null);
  }

  /**
   * As {@link #create(String, StoreSettings, StoreSettings.Bounds, ResultIndex, ActorRef)}, telling
   * {@code health} (its writer's, or null) what each journal failure's remedy is, so that the
   * writer's own ERROR, whose cause is only its ask's timeout, says the same.
   */
  static Behavior<Command> create(
      String persistenceId,
      StoreSettings settings,
      StoreSettings.Bounds bounds,
      ResultIndex index,
      ActorRef<Recovered> recovered,
      StoreHealth health) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              ResultStore
                  .class); // its lines would otherwise come from a Pekko logger, kept at WARN
          return new ResultStore(
              context,
              PersistenceId.ofUniqueId(persistenceId),
              settings,
              bounds,
              index,
              recovered,
              health);
        });
  }

  private ResultStore(
      ActorContext<Command> context,
      PersistenceId persistenceId,
      StoreSettings settings,
      StoreSettings.Bounds bounds,
      ResultIndex index,
      ActorRef<Recovered> recovered,
      StoreHealth health) {
    super(
        persistenceId,
        SupervisorStrategy.restartWithBackoff(
                settings.minBackoff(), settings.maxBackoff(), settings.randomFactor())
            .withLoggingEnabled(false)); // the signal handler says why, once, in words
    this.context = context;
    this.settings = settings;
    this.bounds = bounds;
    this.index = index;
    this.recovered = recovered;
    this.health = health;
  }

  @Override
  public ResultStoreState emptyState() {
    initial = new ResultStoreState(bounds.maxEntries(), bounds.maxBytes());
    return initial;
  }

  @Override
  public String journalPluginId() {
    return settings.journalPlugin();
  }

  @Override
  public String snapshotPluginId() {
    return settings.snapshotPlugin();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(bounds.snapshotEvery(), bounds.keepSnapshots())
        .withDeleteEventsOnSnapshot();
  }

  @Override
  public SnapshotAdapter<ResultStoreState> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(ResultStoreState state) {
        return new Snapshot(state.snapshot());
      }

      @Override
      public ResultStoreState fromJournal(Object from) {
        return ResultStoreState.fromSnapshot(
            ((Snapshot) from).entries(), bounds.maxEntries(), bounds.maxBytes());
      }
    };
  }

  @Override
  public CommandHandler<Command, StoreEvent, ResultStoreState> commandHandler() {
    return newCommandHandlerBuilder().forAnyState().onCommand(Write.class, this::onWrite).build();
  }

  private org.apache.pekko.persistence.typed.javadsl.Effect<StoreEvent, ResultStoreState> onWrite(
      ResultStoreState state, Write write) {
    List<StoredResult> fresh = new ArrayList<>(write.results().size());
    for (StoredResult result : write.results()) {
      if (!state.holdsConfirmed(result.key())) {
        fresh.add(result);
      }
    }
    if (fresh.isEmpty()) {
      return Effect().none().thenRun(s -> write.replyTo().tell(new Written(0)));
    }
    List<StoreEvent> events = new ArrayList<>();
    int from = 0;
    long bytes = 0;
    long written = 0;
    for (int i = 0; i < fresh.size(); i++) {
      long size = fresh.get(i).bytes().length;
      if (i > from
          && (i - from == bounds.resultsPerEvent() || bytes + size > bounds.eventMaxBytes())) {
        events.add(new StoredBatch(List.copyOf(fresh.subList(from, i))));
        from = i;
        bytes = 0;
      }
      bytes += size;
      written += size;
    }
    events.add(new StoredBatch(List.copyOf(fresh.subList(from, fresh.size()))));
    int batches = events.size();
    int fillers = bounds.fillersFor(uncounted + written, batches);
    uncounted = bounds.uncounted(uncounted + written, batches, fillers);
    for (int i = 0; i < fillers; i++) {
      events.add(StoredBatch.FILLER);
    }
    return Effect()
        .persist(events)
        .thenRun(
            s -> {
              s.confirm(fresh);
              write.replyTo().tell(new Written(fresh.size()));
            });
  }

  @Override
  public EventHandler<ResultStoreState, StoreEvent> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(
            StoredBatch.class,
            (state, batch) -> {
              for (StoredResult result : batch.results()) {
                state = state.add(result);
              }
              return state;
            })
        .onEvent(
            StoredResult.class, ResultStoreState::add) // a journal written by an earlier version
        .build();
  }

  @Override
  public SignalHandler<ResultStoreState> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .onSignal(
            RecoveryFailed.class,
            (state, failed) -> {
              initial.reset();
              failedNow();
              if (!RecoveryFailures.repeated(failed.getFailure())) {
                logFailure(
                    "Result store {} cannot read its journal in {}: {}. {}. Flows wait for it; retrying with backoff ({} to {}){}",
                    failed.getFailure());
              }
            })
        .onSignal(
            JournalPersistFailed.class,
            (state, failed) -> {
              initial.reset();
              failedNow();
              logFailure(
                  "Result store {} could not write to {}: {}. {}. No result is acknowledged before it is stored; "
                      + "retrying with backoff ({} to {}){}",
                  failed.getFailure());
            })
        .onSignal(
            SnapshotFailed.class,
            (state, failed) ->
                context
                    .getLog()
                    .warn(
                        "Result store {} could not save a snapshot in {}: {}; its events stay in the journal until the next one",
                        persistenceId().id(),
                        settings.database(),
                        describe(failed.getFailure())))
        .onSignal(
            DeleteEventsFailed.class,
            (state, failed) ->
                context
                    .getLog()
                    .warn(
                        "Result store {} could not delete old events in {}: {}",
                        persistenceId().id(),
                        settings.database(),
                        describe(failed.getFailure())))
        .onSignal(
            DeleteSnapshotsFailed.class,
            (state, failed) ->
                context
                    .getLog()
                    .warn(
                        "Result store {} could not delete old snapshots in {}: {}",
                        persistenceId().id(),
                        settings.database(),
                        describe(failed.getFailure())))
        .build();
  }

  private void onRecovered(ResultStoreState state) {
    state.goLive();
    index.publish(state);
    long millis = (System.nanoTime() - recoveringSince) / 1_000_000;
    if (afterFailure) {
      // not the replay's time: the restart waited its backoff, and the database may have been away
      context
          .getLog()
          .info(
              "Result store {} is back {} ms after its journal failed: recovered {} entries ({} bytes) from {}",
              persistenceId().id(),
              millis,
              state.size(),
              state.bytes(),
              settings.database());
    } else {
      context
          .getLog()
          .info(
              "Result store {} recovered {} entries ({} bytes) from {} in {} ms",
              persistenceId().id(),
              state.size(),
              state.bytes(),
              settings.database(),
              millis);
    }
    afterFailure = false;
    recovered.tell(new Recovered(persistenceId().id(), state.size(), state.bytes(), millis));
  }

  /** The journal failed: the next recovery is measured from the first failure since the last. */
  private void failedNow() {
    if (!afterFailure) {
      afterFailure = true;
      recoveringSince = System.nanoTime();
    }
  }

  /** A duration for a log line: "200 ms", "30 s", "1500 ms". */
  public static String text(java.time.Duration duration) {
    long millis = duration.toMillis();
    return millis < 1000 || millis % 1000 != 0 ? millis + " ms" : millis / 1000 + " s";
  }

  /**
   * The failure and its causes, one line: the JDBC driver's reason is usually the innermost. H2's
   * "Possible solutions: ..." is left out: its advice (e.g. "use the server mode" for a file
   * another process holds) is not ours, and the line's remedy says what to do.
   */
  /**
   * Most characters of each cause's message in {@link #describe}: a JDBC driver's can quote a whole
   * statement with its data (a failed batch insert of journal events: kilobytes of hex).
   */
  private static final int MESSAGE_CHARS = 300;

  public static String describe(Throwable failure) {
    if (failure instanceof java.util.concurrent.TimeoutException) {
      return "no answer in time";
    }
    StringBuilder text = new StringBuilder();
    java.util.Set<Throwable> seen = new java.util.HashSet<>();
    for (Throwable cause = failure; cause != null && seen.add(cause); cause = cause.getCause()) {
      if (text.length() > 0) {
        text.append(" <- ");
      }
      String message =
          cause.getMessage() == null
              ? ""
              : cause
                  .getMessage()
                  .replaceFirst(" Possible solutions: [^\\[\n]*", " ")
                  .replaceFirst("(?s) values \\(.*\\) was aborted", " values (...) was aborted");
      int newline = message.indexOf('\n');
      message = newline < 0 ? message : message.substring(0, newline);
      text.append(cause.getClass().getSimpleName())
          .append(": ")
          .append(
              message.length() <= MESSAGE_CHARS
                  ? message
                  : message.substring(0, MESSAGE_CHARS) + "...");
    }
    return text.toString();
  }

  /** SQL's class 23, integrity constraint violation, 505: a unique key's (PostgreSQL's, H2's). */
  private static final String UNIQUE_VIOLATION = "23505";

  /**
   * What to do about a journal failure: {@code configured} (the database's, e.g. "check that
   * PostgreSQL is up ..."), unless a cause is a unique-key violation. The journal's key is
   * (persistence id, sequence number), so that one means another writer stored this store's next
   * events first: two sequencers at once on one database (a split brain, e.g. nodes with different
   * split-brain resolver settings, or two clusters given the same database), which checking the
   * database does not mend. Pekko restarts the store, which reads the journal again, the other
   * writer's events included; what it had not stored was never acknowledged.
   */
  static String remedy(Throwable failure, String configured) {
    java.util.Set<Throwable> seen = new java.util.HashSet<>();
    java.util.Deque<Throwable> causes = new java.util.ArrayDeque<>();
    causes.push(failure);
    while (!causes.isEmpty()) {
      Throwable cause = causes.pop();
      if (!seen.add(cause)) {
        continue;
      }
      if (cause instanceof java.sql.SQLException sql) {
        if (UNIQUE_VIOLATION.equals(sql.getSQLState())) {
          return "Another writer stored this store's next events first: two sequencers wrote to"
              + " one database at once (a split brain: check that every node has the same"
              + " pekko.cluster.split-brain-resolver settings and that no other cluster uses this"
              + " database). The store reads its journal again, the other writer's events"
              + " included";
        }
        if (sql.getNextException() != null) { // a batch's: the driver's reason per statement
          causes.push(sql.getNextException());
        }
      }
      if (cause.getCause() != null) {
        causes.push(cause.getCause());
      }
    }
    return configured;
  }

  /**
   * A journal failure's ERROR line, naming this store, its database, the cause, the remedy and the
   * backoff: the first of an outage, then at most one a minute with how long it has lasted ({@link
   * OutageLines}); the attempts in between at DEBUG.
   */
  private void logFailure(String format, Throwable failure) {
    long now = System.nanoTime();
    boolean due = outage.failed(now);
    String remedy = remedy(failure, settings.remedy());
    if (health != null) {
      health.storeFailed(remedy);
    }
    Object[] arguments = {
      persistenceId().id(),
      settings.database(),
      describe(failure),
      remedy,
      text(settings.minBackoff()),
      text(settings.maxBackoff()),
      due ? outage.note(now) : ""
    };
    if (due) {
      context.getLog().error(format, arguments);
    } else {
      context.getLog().debug(format, arguments);
    }
  }
}
