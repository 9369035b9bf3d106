package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.tx.Admission;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.NodeProblems;
import dev.pekkoprover.sequencer.OutageLines;
import dev.pekkoprover.sequencer.RecoveryFailures;
import dev.pekkoprover.sequencer.ResultStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.DeleteEventsFailed;
import org.apache.pekko.persistence.typed.DeleteSnapshotsFailed;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The appchain as a long-running service, event-sourced with Pekko Persistence ({@link
 * ChainEvent}): it takes transactions as they come ({@link Submit}: accepted only once journaled,
 * or refused with the mempool's reason), produces a block every {@code blockInterval} from the
 * mempool (none when nothing is pending), seals blocks into batches of {@code blocksPerBatch}
 * (fewer once the oldest waiting block is {@code batchInterval} old), proves each batch through the
 * {@link Prover} and records the proof once it verifies and matches the roots it computed directly.
 *
 * <p>Group commit: the transactions accepted while a journal write is in flight go together in the
 * next write, so a write per transaction is never the limit. Blocks are produced only from
 * transactions journaled before or in the same write as the block.
 *
 * <p>Restarted (a crash, a {@code kill -9}, a database that failed a write), it reads its latest
 * snapshot ({@link ChainSnapshot}, taken every {@code snapshot-every} events when the journal is
 * durable) and replays the journal after it: the same chain, mempool, batches and proven height,
 * and proves every sealed batch that has no proof yet (a durable node's result store answers what
 * was already proven at once). Commands wait (Pekko stashes them) while it recovers or writes.
 *
 * <p>State changes happen in the command handler (live) and in the event handler only while
 * recovering: the mempool's check and its change are one step, which a replay repeats without the
 * signature check.
 */
final class ChainService
    extends EventSourcedBehavior<ChainService.Command, ChainEvent, ChainService.Live> {

  /** Proves a batch: a flow of that name over those blocks. */
  @FunctionalInterface
  interface Prover {
    CompletionStage<BatchProof> prove(String name, List<BlockTrace> blocks);
  }

  interface Command extends CborSerializable {}

  /**
   * Offers a transaction; answered once it is journaled, or at once when refused.
   *
   * @param signatureVerified the sender already verified the signature (the HTTP route does, off
   *     this actor's thread); false: the mempool checks it
   */
  record Submit(
      SignedTransfer transaction, boolean signatureVerified, ActorRef<SubmitReply> replyTo)
      implements Command {}

  /**
   * @param refused null when accepted, else the mempool's reason ({@code RefusalReason} name) or
   *     {@link #SHUTTING_DOWN}
   * @param acceptedBefore null unless the transaction (the same hash) had been accepted before: its
   *     status now; it was not queued again
   */
  record SubmitReply(
      String hash, String refused, String message, ChainState.TxStatus acceptedBefore)
      implements CborSerializable {}

  /**
   * The refusal of a transaction offered once the node's CoordinatedShutdown has begun: not
   * accepted, whatever the mempool would say, so that nothing is accepted that the stop could lose
   * (a journal in memory) or that a standby node would have to answer for.
   */
  static final String SHUTTING_DOWN = "SHUTTING_DOWN";

  /** One answer owed once the next journal write is confirmed. */
  record Waiting(ActorRef<SubmitReply> replyTo, String hash, boolean again) {}

  record GetTransaction(String hash, ActorRef<ChainState.TxStatus> replyTo) implements Command {}

  record GetChain(ActorRef<ChainState.View> replyTo) implements Command {}

  record GetAccount(String address, ActorRef<AccountView> replyTo) implements Command {}

  /** What {@code GET /appchain/accounts/<address>} answers. */
  record AccountView(String address, long balance, long nonce, long pendingNonce)
      implements CborSerializable {}

  enum Flush implements Command {
    INSTANCE
  }

  enum Tick implements Command {
    INSTANCE
  }

  /**
   * The outcome of proving attempt {@code attempt} of {@code batch}: a proof, or what failed.
   *
   * @param attempt which {@link Proving} this answers: an answer to an earlier attempt, or one
   *     handled already, is ignored
   */
  record Proved(ChainState.Batch batch, long attempt, BatchProof proof, String error)
      implements Command {}

  record Retry(ChainState.Batch batch) implements Command {}

  /**
   * Sent by a tick that found no proving of {@code batch} and its {@link Retry} timer no longer
   * running: behind that {@link Retry} in the mailbox and stash (the timer counts as ended once its
   * message is taken from the mailbox, while the running journal write keeps it stashed), so that
   * it finds the retry of failed attempt {@code attempt} still due only when the {@link Retry} was
   * dropped. {@code attempt} is -1 when no retry was due at all.
   */
  record RetryCheck(ChainState.Batch batch, long attempt) implements Command {}

  /**
   * Sent by a tick that found attempt {@code attempt} of {@code batch} answered: behind that
   * answer's own {@link Proved} in the mailbox and stash (which the prover's thread sends before it
   * keeps the answer), so that it finds the attempt still open only when that {@link Proved} was
   * dropped.
   */
  record Recheck(ChainState.Batch batch, long attempt) implements Command {}

  /** The state: mutable, changed live by commands and by events only during recovery. */
  static final class Live {
    ChainState chain;
    boolean recovered;

    /** The answers owed once the next write is confirmed, re-submissions among them. */
    final List<Waiting> unwritten = new ArrayList<>();

    final List<SignedTransfer> unwrittenTransactions = new ArrayList<>();
    final java.util.Set<String> unwrittenHashes = new java.util.HashSet<>();
    boolean flushQueued;
    long oldestUnsealedAt;

    /** The proven height of the snapshot this state was restored from; -1: none. */
    long snapshotBase = -1;

    /** Events replayed while recovering. */
    long replayed;

    /** The batches being proven, with their attempt; the rest of the sealed ones wait to retry. */
    final Map<ChainState.Batch, Proving> proving = new HashMap<>();

    /** The batches whose proof failed and whose {@link Retry} is due, with the failed attempt. */
    final Map<ChainState.Batch, Long> retrying = new HashMap<>();

    Live(ChainState chain) {
      this.chain = chain;
    }

    /** Empty again, on {@code fresh}: see {@link ChainService#resetInitial()}. */
    void reset(ChainState fresh) {
      chain = fresh;
      recovered = false;
      unwritten.clear();
      unwrittenTransactions.clear();
      unwrittenHashes.clear();
      flushQueued = false;
      oldestUnsealedAt = 0;
      snapshotBase = -1;
      replayed = 0;
      proving.clear();
      retrying.clear();
    }
  }

  /**
   * A proving attempt in flight. Its answer ({@link Proved}) comes as a command, and a command that
   * arrives while more than {@code pekko.persistence.typed.stash-capacity} (4096) wait on a journal
   * write or a snapshot is dropped by Pekko; the answer is kept here too, so that {@link
   * #sweep(Live)} has it handled at the next tick instead of leaving the batch unproven until a
   * restart.
   */
  static final class Proving {
    final long attempt;

    /** Set by the prover's thread once it answers, after it sent the answer. */
    final AtomicReference<Proved> answer = new AtomicReference<>();

    Proving(long attempt) {
      this.attempt = attempt;
    }
  }

  /** A journaled event that does not replay onto the state the events before it rebuilt. */
  static final class ReplayMismatch extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ReplayMismatch(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Attempt numbers, unique in this JVM: an answer to an earlier incarnation's attempt (the actor's
   * ref survives its restarts) never passes for the current one's.
   */
  private static final AtomicLong ATTEMPTS = new AtomicLong();

  /** Most transactions per journaled event: one write of a large backlog is several events. */
  private static final int TRANSACTIONS_PER_EVENT = 1000;

  /** Its name among the parts whose problems the status API shows ({@link NodeProblems}). */
  private static final String PROBLEM_PART = "appchain-service";

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final ServiceSettings settings;
  private final Map<String, Long> genesis;
  private final AppchainSettings appchain;
  private final Prover prover;
  private final Function<BatchProof, String> verifier;
  private final String journalPlugin;
  private final String snapshotPlugin;
  private final Consumer<String> recoveredLine;

  /** Which journal failures of an outage get an ERROR line (the first, then one a minute). */
  private final OutageLines outage = new OutageLines();

  /**
   * {@link System#nanoTime} of the journal's first failure since it last recovered, 0 while it
   * works; with its last cause, read by the status API's {@code problems} ({@link NodeProblems}).
   */
  private final AtomicLong journalFailingSince = new AtomicLong();

  private volatile String journalFailure = "";

  /**
   * {@link System#nanoTime} of the last journal failure, and whether it was a write's: after a
   * failed write the problem stays past the recovery until a write is confirmed ({@link
   * #journalWorks}) or a minute passes without a failure ({@link OutageLines#REPEAT}), so that a
   * database that reads but refuses writes (a read-only failover, a full disk), which recovers the
   * service before each failed write, does not make the status line come and go.
   */
  private volatile long lastJournalFailure;

  private volatile boolean writeFailed;

  /** Whether it has read its journal again since its last failure. */
  private volatile boolean recoveredSinceFailure;

  /** What it registered with {@link NodeProblems}, removed when it stops. */
  private final Supplier<String> problem = this::journalProblem;

  /** What {@link #emptyState()} gave Pekko: see {@link #resetInitial()}. */
  private Live initial;

  /** Batch proofs that failed (a flow that failed, a proof that does not verify or match). */
  private final Counter proofsFailed;

  /** Answers or retries of batch proofs that Pekko dropped, found by {@link #sweep(Live)}. */
  private final Counter commandsLost;

  /**
   * @param persistenceId the journal's id for this chain (one writer)
   * @param genesis the genesis balances
   * @param verifier the problem with a proof under the circuits' keys, or null when it verifies
   * @param journalPlugin the journal plugin's config path, "" for the default
   * @param snapshotPlugin the snapshot store plugin's config path, "" for the default; null: no
   *     snapshots (the journal in memory)
   * @param recoveredLine told one line after each recovery (height, pending, batches to prove)
   */
  static Behavior<Command> create(
      String persistenceId,
      Map<String, Long> genesis,
      AppchainSettings appchain,
      ServiceSettings settings,
      Prover prover,
      Function<BatchProof, String> verifier,
      String journalPlugin,
      String snapshotPlugin,
      Consumer<String> recoveredLine) {
    // Pekko restarts an event-sourced behavior by itself only for a journal's failures (the
    // strategy given to super, below); anything else, such as a snapshot it cannot use, would stop
    // the service for good: restarted with backoff too, each time with the supervisor's ERROR line
    Behavior<Command> service =
        Behaviors.setup(
            context ->
                Behaviors.withTimers(
                    timers -> {
                      context.setLoggerName(ChainService.class);
                      return new ChainService(
                          PersistenceId.ofUniqueId(persistenceId),
                          context,
                          timers,
                          settings,
                          genesis,
                          appchain,
                          prover,
                          verifier,
                          journalPlugin,
                          snapshotPlugin,
                          recoveredLine);
                    }));
    return Behaviors.supervise(service)
        .onFailure(
            SupervisorStrategy.restartWithBackoff(
                Duration.ofSeconds(1), Duration.ofSeconds(10), 0.2));
  }

  private ChainService(
      PersistenceId persistenceId,
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      ServiceSettings settings,
      Map<String, Long> genesis,
      AppchainSettings appchain,
      Prover prover,
      Function<BatchProof, String> verifier,
      String journalPlugin,
      String snapshotPlugin,
      Consumer<String> recoveredLine) {
    super(
        persistenceId,
        SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(10), 0.2)
            .withLoggingEnabled(false)); // the signal handler says why, once, in words
    this.context = context;
    this.timers = timers;
    this.settings = settings;
    this.genesis = genesis;
    this.appchain = appchain;
    this.prover = prover;
    this.verifier = verifier;
    this.journalPlugin = journalPlugin;
    this.snapshotPlugin = snapshotPlugin;
    this.recoveredLine = recoveredLine;
    NodeProblems.get(context.getSystem()).register(PROBLEM_PART, problem);
    MeterRegistry registry = ProverMetrics.get(context.getSystem()).registry();
    this.proofsFailed =
        Counter.builder("prover.appchain.batch.proofs.failed")
            .description("Batch proofs of the appchain service that failed, each proven again")
            .register(registry);
    this.commandsLost =
        Counter.builder("prover.appchain.commands.lost")
            .description(
                "Batch proofs' answers and retries the service's full stash dropped, picked up at a"
                    + " tick")
            .register(registry);
  }

  @Override
  public Live emptyState() {
    initial = new Live(new ChainState(genesis, appchain, settings.txIndexSize()));
    return initial;
  }

  /**
   * Makes the state {@link #emptyState()} gave Pekko empty again. Pekko's Java API asks for the
   * empty state once, and its restart after a journal failure (a write or a replay that failed)
   * replays onto that same object, which the failed incarnation changed: left as it was, the
   * restarted service would skip the replay (it takes itself for live) and keep transactions whose
   * write failed, and its next block would differ from what a later replay rebuilds. Called from
   * the signals that precede that restart.
   */
  private void resetInitial() {
    if (initial != null) {
      initial.reset(new ChainState(genesis, appchain, settings.txIndexSize()));
    }
  }

  @Override
  public String journalPluginId() {
    return journalPlugin;
  }

  @Override
  public String snapshotPluginId() {
    return snapshotPlugin == null ? "pekko.persistence.no-snapshot-store" : snapshotPlugin;
  }

  /**
   * A snapshot every {@code snapshot-every} events, two kept, the events before the older deleted:
   * a restart reads one snapshot and at most about 2 x snapshot-every events, however long the
   * chain, and the journal stays bounded.
   */
  @Override
  public RetentionCriteria retentionCriteria() {
    return snapshotPlugin == null
        ? RetentionCriteria.disabled()
        : RetentionCriteria.snapshotEvery(settings.snapshotEvery(), 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public SnapshotAdapter<Live> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(Live state) {
        // on this actor's thread: an immutable copy, which the snapshot store serialises later
        return state.chain.snapshot(state.unwrittenTransactions.size());
      }

      @Override
      public Live fromJournal(Object from) {
        ChainSnapshot snapshot = (ChainSnapshot) from;
        try {
          Live live =
              new Live(ChainState.restore(snapshot, genesis, appchain, settings.txIndexSize()));
          live.snapshotBase = snapshot.baseHeight();
          return live;
        } catch (RuntimeException e) {
          throw new IllegalStateException(
              "appchain service cannot use its snapshot at proven height "
                  + snapshot.baseHeight()
                  + " ("
                  + e.getMessage()
                  + "); restarting with backoff. The events before it are deleted: if "
                  + "prover.appchain.* (e.g. mempool-capacity) or the build changed since, start "
                  + "with the ones it was taken with",
              e);
        }
      }
    };
  }

  @Override
  public EventHandler<Live, ChainEvent> eventHandler() {
    return (state, event) -> {
      if (state.recovered) {
        return state; // live: the command handler changed the state already
      }
      state.replayed++;
      try {
        if (event instanceof ChainEvent.TransactionsAccepted accepted) {
          state.chain.readmit(accepted.transactions());
        } else if (event instanceof ChainEvent.BlockProduced block) {
          state.chain.replay(block);
        } else if (event instanceof ChainEvent.BatchSealed batch) {
          state.chain.seal(batch);
        } else if (event instanceof ChainEvent.BatchProven proof) {
          state.chain.proven(proof);
        }
      } catch (RuntimeException e) {
        throw new ReplayMismatch(
            "event "
                + state.replayed
                + (state.snapshotBase < 0
                    ? ""
                    : " after the snapshot at proven height " + state.snapshotBase)
                + " ("
                + event.getClass().getSimpleName()
                + "): "
                + e.getMessage(),
            e);
      }
      return state;
    };
  }

  @Override
  public SignalHandler<Live> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(
            RecoveryCompleted.instance(),
            state -> {
              state.recovered = true;
              recoveredSinceFailure = true;
              long failedSince = journalFailingSince.get();
              // after an outage, the line says the service is back, and how long after (a trial
              // found only the result stores saying so)
              String back =
                  failedSince == 0
                      ? "appchain service: "
                      : "appchain service read its journal again "
                          + (System.nanoTime() - failedSince) / 1_000_000_000
                          + " s after it failed: ";
              if (!writeFailed) {
                journalFailingSince.set(0); // a failed read: the recovery read it all
              }
              ChainState chain = state.chain;
              if (chain.unsealedBlocks() > 0) {
                state.oldestUnsealedAt = System.nanoTime();
              }
              List<ChainState.Batch> batches = chain.sealedBatches();
              recoveredLine.accept(
                  back
                      + String.format(
                          "height %d, proven height %d, %d transaction(s) pending,"
                              + " %d batch(es) to prove (%s)",
                          chain.height(),
                          chain.provenHeight(),
                          chain.pending(),
                          batches.size(),
                          (state.snapshotBase < 0
                                  ? "from genesis, "
                                  : "from a snapshot at proven height "
                                      + state.snapshotBase
                                      + " and ")
                              + state.replayed
                              + " journal event(s)"));
              batches.forEach(batch -> prove(state, batch));
              timers.startTimerWithFixedDelay(
                  Tick.INSTANCE, Tick.INSTANCE, settings.blockInterval());
            })
        .onSignal(
            RecoveryFailed.class,
            (state, failed) -> {
              resetInitial();
              Throwable failure = failed.getFailure();
              if (failure instanceof ReplayMismatch) {
                context
                    .getLog()
                    .error(
                        "appchain service cannot replay its journal: {}; retrying with backoff. "
                            + "The journal was written with other settings or another build: "
                            + "start with the prover.appchain.* settings (e.g. mempool-capacity) "
                            + "and the version it was written with",
                        failure.getMessage());
              } else if (!RecoveryFailures.repeated(failure)) {
                journalFailed(
                    "appchain service cannot read its journal ({}); retrying with backoff (1 s to"
                        + " 10 s): check that the database is up{}",
                    failure,
                    false);
              }
            })
        .onSignal(
            PostStop.instance(),
            state -> NodeProblems.get(context.getSystem()).unregister(PROBLEM_PART, problem))
        .onSignal(
            SnapshotFailed.class,
            (state, failed) ->
                warn("save a snapshot; its events stay in the journal", failed.getFailure()))
        .onSignal(
            DeleteEventsFailed.class,
            (state, failed) ->
                warn("delete journal events older than its snapshots", failed.getFailure()))
        .onSignal(
            DeleteSnapshotsFailed.class,
            (state, failed) -> warn("delete old snapshots", failed.getFailure()))
        .onSignal(
            JournalPersistFailed.class,
            (state, failed) -> {
              resetInitial();
              journalFailed(
                  "appchain service cannot write its journal ({}); the transactions of that write"
                      + " were not acknowledged; restarting from the journal with backoff (1 s to"
                      + " 10 s): check that the database is up{}",
                  failed.failure(),
                  true);
            })
        .build();
  }

  /**
   * A journal failure's ERROR line: the first of an outage, then at most one a minute with how long
   * it has lasted ({@link OutageLines}); the attempts in between at DEBUG.
   */
  private void journalFailed(String format, Throwable failure, boolean write) {
    long now = System.nanoTime();
    journalFailure = ResultStore.describe(failure);
    recoveredSinceFailure = false;
    if (lastJournalFailure != 0 && now - lastJournalFailure >= OutageLines.REPEAT.toNanos()) {
      journalFailingSince.set(now); // quiet for a minute: that outage was over
      writeFailed = write; // a write of that outage says nothing about this one
    } else {
      journalFailingSince.compareAndSet(0, now);
      writeFailed |= write;
    }
    lastJournalFailure = now;
    boolean due = outage.failed(now);
    String repeat = due ? outage.note(now) : "";
    if (due) {
      context.getLog().error(format, ResultStore.describe(failure), repeat);
    } else {
      context.getLog().debug(format, ResultStore.describe(failure), repeat);
    }
  }

  /**
   * The status API's line while the journal fails: until it recovers, the service answers no
   * request (a submission is 503 {@code UNAVAILABLE}) and produces no block; null while it works.
   */
  private String journalProblem() {
    long since = journalFailingSince.get();
    if (since == 0) {
      return null;
    }
    long now = System.nanoTime();
    if (writeFailed && recoveredSinceFailure) {
      if (now - lastJournalFailure >= OutageLines.REPEAT.toNanos()) {
        return null; // no failure for a minute, and no write to confirm it works
      }
      return "the appchain service's journal failed a write "
          + (now - lastJournalFailure) / 1_000_000_000
          + " s ago ("
          + journalFailure
          + "; the first failure "
          + (now - since) / 1_000_000_000
          + " s ago): it has read its journal again and has not confirmed a write since; a database"
          + " that reads but refuses writes (read-only, a full disk) fails each write again;"
          + " nothing it accepted is lost (the log says why)";
    }
    return "the appchain service's journal has failed for "
        + (System.nanoTime() - since) / 1_000_000_000
        + " s ("
        + journalFailure
        + "): it restarts with backoff until its database answers; meanwhile submissions are"
        + " answered 503 UNAVAILABLE and no block is produced; nothing it accepted is lost (the"
        + " log says why)";
  }

  /** A snapshot's housekeeping failed: the next snapshot tries again, nothing is lost. */
  private void warn(String what, Throwable failure) {
    context.getLog().warn("appchain service could not {} ({})", what, failure.getMessage());
  }

  @Override
  public CommandHandler<Command, ChainEvent, Live> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Submit.class, this::onSubmit)
        .onCommand(Flush.class, (state, flush) -> write(state, List.of()))
        .onCommand(Tick.class, this::onTick)
        .onCommand(Proved.class, this::onProved)
        .onCommand(Recheck.class, this::onRecheck)
        .onCommand(RetryCheck.class, this::onRetryCheck)
        .onCommand(
            Retry.class,
            (state, retry) -> {
              state.retrying.remove(retry.batch());
              if (state.chain.awaitsProof(retry.batch())
                  && !state.proving.containsKey(retry.batch())) {
                prove(state, retry.batch());
              }
              return Effect().none();
            })
        .onCommand(
            GetTransaction.class,
            (state, get) -> {
              get.replyTo().tell(state.chain.status(get.hash()));
              return Effect().none();
            })
        .onCommand(
            GetChain.class,
            (state, get) -> {
              get.replyTo().tell(state.chain.view());
              return Effect().none();
            })
        .onCommand(
            GetAccount.class,
            (state, get) -> {
              AccountState account = state.chain.account(get.address());
              get.replyTo()
                  .tell(
                      new AccountView(
                          get.address(),
                          account.balance(),
                          account.nonce(),
                          state.chain.pendingNonce(get.address())));
              return Effect().none();
            })
        .build();
  }

  private Effect<ChainEvent, Live> onSubmit(Live state, Submit submit) {
    if (CoordinatedShutdown.get(context.getSystem()).getShutdownReason().isPresent()) {
      submit
          .replyTo()
          .tell(
              new SubmitReply(
                  null,
                  SHUTTING_DOWN,
                  "the node that runs the appchain service's chain is shutting down, and the "
                      + "chain accepts no new transaction (this one was not accepted): send it "
                      + "again to another node of the service or once this one has restarted",
                  null));
      return Effect().none();
    }
    SignedTransfer transaction = submit.transaction();
    ChainState.TxStatus before = state.chain.acceptedBefore(transaction);
    if (before != null && (submit.signatureVerified() || transaction.signatureValid())) {
      // a client's retry after a lost answer: the same transaction, answered as accepted again
      // and not queued twice; once its first write is confirmed if that is still to come
      if (state.unwrittenHashes.contains(before.hash())) {
        state.unwritten.add(new Waiting(submit.replyTo(), before.hash(), true));
      } else {
        submit.replyTo().tell(new SubmitReply(before.hash(), null, null, before));
      }
      return Effect().none();
    }
    Admission admission = state.chain.submit(transaction, !submit.signatureVerified());
    if (admission instanceof Admission.Refused refused) {
      submit
          .replyTo()
          .tell(
              new SubmitReply(refused.txHash(), refused.reason().name(), refused.message(), null));
      return Effect().none();
    }
    String hash = transaction.hash();
    state.unwritten.add(new Waiting(submit.replyTo(), hash, false));
    state.unwrittenTransactions.add(transaction);
    state.unwrittenHashes.add(hash);
    if (!state.flushQueued) { // behind the submissions already in the mailbox: they join this write
      state.flushQueued = true;
      context.getSelf().tell(Flush.INSTANCE);
    }
    return Effect().none();
  }

  private Effect<ChainEvent, Live> onTick(Live state, Tick tick) {
    sweep(state);
    List<ChainEvent> events = new ArrayList<>();
    ChainState chain = state.chain;
    // transactions accepted before the block is produced go in the same write, before it
    int unsealedBefore = chain.unsealedBlocks();
    chain.produceBlock(settings.maxBlockTransactions()).ifPresent(events::add);
    if (unsealedBefore == 0 && chain.unsealedBlocks() > 0) {
      state.oldestUnsealedAt = System.nanoTime();
    }
    boolean partialDue =
        chain.unsealedBlocks() > 0
            && System.nanoTime() - state.oldestUnsealedAt >= settings.batchInterval().toNanos();
    List<ChainState.Batch> sealed = new ArrayList<>();
    for (Optional<ChainEvent.BatchSealed> next =
            chain.nextBatch(settings.blocksPerBatch(), partialDue);
        next.isPresent();
        next = chain.nextBatch(settings.blocksPerBatch(), false)) {
      events.add(next.get());
      sealed.add(chain.seal(next.get()));
      state.oldestUnsealedAt = System.nanoTime();
    }
    if (events.isEmpty() && state.unwritten.isEmpty()) {
      return Effect().none();
    }
    return write(state, events).thenRun(written -> sealed.forEach(batch -> prove(written, batch)));
  }

  /**
   * Journals the unwritten accepted transactions followed by {@code after}, then acknowledges the
   * transactions.
   */
  private org.apache.pekko.persistence.typed.javadsl.EffectBuilder<ChainEvent, Live> write(
      Live state, List<ChainEvent> after) {
    state.flushQueued = false;
    List<ChainEvent> events = new ArrayList<>();
    List<SignedTransfer> transactions = state.unwrittenTransactions;
    for (int from = 0; from < transactions.size(); from += TRANSACTIONS_PER_EVENT) {
      events.add(
          new ChainEvent.TransactionsAccepted(
              transactions.subList(
                  from, Math.min(transactions.size(), from + TRANSACTIONS_PER_EVENT))));
    }
    events.addAll(after);
    if (events.isEmpty()) {
      return Effect().none();
    }
    List<Waiting> waiting = List.copyOf(state.unwritten);
    state.unwritten.clear();
    state.unwrittenTransactions.clear();
    state.unwrittenHashes.clear();
    return Effect()
        .persist(events)
        .thenRun(
            written -> {
              journalWorks();
              for (Waiting answer : waiting) {
                answer
                    .replyTo()
                    .tell(
                        new SubmitReply(
                            answer.hash(),
                            null,
                            null,
                            answer.again() ? written.chain.status(answer.hash()) : null));
              }
            });
  }

  private void prove(Live state, ChainState.Batch batch) {
    List<BlockTrace> blocks = state.chain.traces(batch);
    String name = AppchainJob.batchName(blocks);
    Proving proving = new Proving(ATTEMPTS.incrementAndGet());
    state.proving.put(batch, proving);
    ActorRef<Command> self = context.getSelf();
    prover
        .prove(name, blocks)
        .whenComplete(
            (proof, error) -> {
              Proved proved =
                  new Proved(
                      batch,
                      proving.attempt,
                      proof,
                      error == null ? null : AppchainJob.rootCause(error).toString());
              self.tell(proved);
              proving.answer.set(proved); // after: a Recheck goes behind the Proved
            });
  }

  /**
   * Every tick: a batch whose proof answered gets a {@link Recheck}, which handles the answer if
   * its {@link Proved} was dropped from a full stash; a batch that waits for neither a proof nor a
   * running retry timer gets a {@link RetryCheck}, which proves it again if its {@link Retry} was
   * dropped. Each loss is a WARN line and {@code prover_appchain_commands_lost_total}: a dropped
   * command delays a batch by a tick, never until a restart.
   */
  private void sweep(Live state) {
    for (ChainState.Batch batch : state.chain.sealedBatches()) {
      Proving proving = state.proving.get(batch);
      if (proving == null) {
        if (!timers.isTimerActive(batch)) {
          context.getSelf().tell(new RetryCheck(batch, state.retrying.getOrDefault(batch, -1L)));
        }
      } else if (proving.answer.get() != null) {
        context.getSelf().tell(new Recheck(batch, proving.attempt));
      }
    }
  }

  /**
   * The answer of a {@link Recheck}'s attempt, when its {@link Proved} went before and did not
   * arrive: dropped.
   */
  private Effect<ChainEvent, Live> onRecheck(Live state, Recheck recheck) {
    Proving proving = state.proving.get(recheck.batch());
    if (proving == null || proving.attempt != recheck.attempt()) {
      return Effect().none(); // its answer was handled
    }
    commandsLost.increment();
    context
        .getLog()
        .warn(
            "appchain service lost the answer of the proof of blocks {}-{} ({}); handling it now",
            recheck.batch().first(),
            recheck.batch().last(),
            DROPPED);
    return onProved(state, proving.answer.get());
  }

  /**
   * The batch of a {@link RetryCheck} still waits for the retry that check was sent for, with no
   * timer and no proving: its {@link Retry} was dropped.
   */
  private Effect<ChainEvent, Live> onRetryCheck(Live state, RetryCheck check) {
    ChainState.Batch batch = check.batch();
    if (state.retrying.getOrDefault(batch, -1L) != check.attempt()
        || state.proving.containsKey(batch)
        || timers.isTimerActive(batch)
        || !state.chain.awaitsProof(batch)) {
      return Effect().none(); // the retry came, or a later one is due
    }
    state.retrying.remove(batch);
    commandsLost.increment();
    context
        .getLog()
        .warn(
            "appchain service lost the retry of the proof of blocks {}-{} ({}); proving it again"
                + " now",
            batch.first(),
            batch.last(),
            DROPPED);
    prove(state, batch);
    return Effect().none();
  }

  private static final String DROPPED =
      "dropped: more than pekko.persistence.typed.stash-capacity commands waited on a journal"
          + " write or a snapshot; the service is overloaded or its database slow";

  private Effect<ChainEvent, Live> onProved(Live state, Proved proved) {
    ChainState.Batch batch = proved.batch();
    Proving proving = state.proving.get(batch);
    if (proving == null || proving.attempt != proved.attempt()) {
      return Effect().none(); // handled already, or an earlier attempt's answer
    }
    state.proving.remove(batch);
    if (!state.chain.awaitsProof(batch)) {
      return Effect().none();
    }
    String problem = proved.error();
    ChainEvent.BatchProven expected = state.chain.expectedProof(batch);
    if (problem == null) {
      problem = mismatch(proved.proof(), expected);
    }
    if (problem != null) {
      proofsFailed.increment();
      context
          .getLog()
          .error(
              "batch proof of blocks {}-{} failed: {}; proving it again in {} s",
              batch.first(),
              batch.last(),
              problem,
              settings.retryAfter().toSeconds());
      state.retrying.put(batch, proving.attempt);
      timers.startSingleTimer(batch, new Retry(batch), settings.retryAfter());
      return Effect().none();
    }
    state.chain.proven(expected);
    return Effect().persist(expected).thenRun(written -> journalWorks());
  }

  /** A write was confirmed: the journal works, whatever failed before. */
  private void journalWorks() {
    if (writeFailed) {
      journalFailingSince.set(0); // first: read with writeFailed false, it would say "failed for"
      writeFailed = false;
    }
  }

  /** What is wrong with the proof of {@code expected}'s batch, or null. */
  private String mismatch(BatchProof proof, ChainEvent.BatchProven expected) {
    String invalid = verifier.apply(proof);
    return invalid != null
        ? "the proof does not verify: " + invalid
        : ChainState.mismatch(proof, expected);
  }
}
