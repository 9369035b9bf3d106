package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The reference appchain as a long-running service on the node with role sequencer ({@code
 * --service}): its chain ({@link ChainService}) takes transactions over HTTP ({@link ChainApi}, on
 * the node's HTTP server), produces and proves blocks as they come, and runs until the node stops.
 * The genesis is the seeded one of {@code prover.appchain-job} (seed and accounts), so a load
 * generator with the same seed holds the funded keys ({@code prover-node load}).
 *
 * <p>With durability on ({@code prover.persistence.enabled}: the launcher's {@code run} with its H2
 * file, a cluster node with {@code --db-url}) the chain's journal and the proofs live in the
 * database, and a service started again goes on from where it was: every transaction it answered
 * "accepted" is in its chain. Without, the journal is in memory.
 *
 * <p>It prints a line every {@code prover.appchain-service.report-interval} while the chain moves
 * (height, proven height, pending), and keeps the gauges {@code prover_appchain_height}, {@code
 * prover_appchain_proven_height}, {@code prover_appchain_pending_transactions} and {@code
 * prover_appchain_batches_proving}, updated at each report.
 */
final class AppchainService {
  private AppchainService() {}

  /**
   * What a node running the service holds its readiness with ({@link
   * ProverNode.Builder#holdReadiness}) until its chain first answers: {@code /health/ready} stays
   * 503 while the API would answer 503 UNAVAILABLE, so a load balancer sends no transaction there.
   */
  static final String READINESS_HOLD =
      "the appchain service's chain to answer (it recovers its journal; on a standby sequencer "
          + "node, the active node's chain)";

  /** Runs the service until the node's actor system terminates; never returns before. */
  static ProverPlugin.Outcome run(
      ProverNode node, AppchainSettings appchain, Config config, PrintStream out)
      throws InterruptedException {
    // the chain takes transactions and produces blocks before any worker is there: only proving
    // waits for the circuits (flows wait in the sequencer until it is ready), and a proof comes
    // back only once they are compiled, with these keys
    CompletableFuture<Object> keys = node.registrationParameters().toCompletableFuture();
    Config job = config.getConfig("prover.appchain-job");
    Config service = config.getConfig("prover.appchain-service");
    long seed = job.getLong("seed");
    int accounts = job.getInt("accounts");
    Map<String, Long> genesis = genesis(job);
    ServiceSettings settings = ServiceSettings.fromConfig(config);
    boolean durable = config.getBoolean("prover.persistence.enabled");
    String persistenceId =
        config.getString("prover.persistence.id-prefix")
            + "-appchain-seed"
            + seed
            + "-accounts"
            + accounts;
    ActorSystem<?> system = node.system();
    Behavior<ChainService.Command> behavior =
        ChainService.create(
            persistenceId,
            genesis,
            appchain,
            settings,
            (name, blocks) -> node.run(name, BatchProvingFlow.create(blocks)),
            proof -> verify(proof, keys.getNow(null)),
            durable ? "" : "pekko.persistence.journal.inmem",
            durable ? "" : null,
            out::println);
    // In a cluster one chain for all nodes with role sequencer: a singleton beside the sequencer's,
    // which a standby takes over (recovering from the shared journal) when the oldest one leaves.
    ActorRef<ChainService.Command> chain =
        cluster(config)
            ? ClusterSingleton.get(system)
                .init(
                    SingletonActor.of(behavior, "appchain-service")
                        .withSettings(ProverNode.sequencerSingletonSettings(system)))
            : system.systemActorOf(behavior, "appchain-service", Props.empty());
    Duration askTimeout = service.getDuration("request-timeout");
    node.mount(ChainApi.routes(chain, system, askTimeout));
    out.printf(
        "appchain service: transactions to POST %s/%s/transactions, status GET .../transactions/"
            + "<hash>, chain GET .../chain, accounts GET .../accounts/<address>; a block every %d ms "
            + "of at most %d transactions, %d blocks per batch proof; genesis of seed %d with %d "
            + "accounts; %s%n",
        node.httpUrl().orElse("(no HTTP)"),
        ChainApi.PREFIX,
        settings.blockInterval().toMillis(),
        settings.maxBlockTransactions(),
        settings.blocksPerBatch(),
        seed,
        accounts,
        durable
            ? "journal " + persistenceId + " in " + config.getString("prover.persistence.database")
            : "journal in memory (nothing survives a restart)");
    boolean stopLineSaid = false;
    if (!durable) {
      sayWhatIsLostAtTheStop(system, chain, askTimeout, out, cluster(config));
      stopLineSaid = true;
    } else if (cluster(config)) { // the embedded run says it itself, after the node's end
      String line =
          "appchain service stopped: every transaction it accepted is in its journal, "
              + config.getString("prover.persistence.database")
              + "; the same command goes on from it (so does a standby sequencer node)";
      CoordinatedShutdown.get(system)
          .addTask(
              CoordinatedShutdown.PhaseBeforeClusterShutdown(),
              "appchain-service-stop-line",
              () -> {
                // in the shutdown: the job's own end may come after the node's, which a signal's
                // exit does not wait for (the line was missing in 1 stop of 3 in a trial)
                out.println(line);
                out.flush();
                return CompletableFuture.completedFuture(Done.getInstance());
              });
      stopLineSaid = true;
    }
    CompletableFuture<Void> ready = new CompletableFuture<>();
    Thread waiter =
        new Thread(
            () -> {
              try { // says what proving waits for (workers, the circuits) while it waits
                JobProgress.awaitReady(node, out, CircuitCompilerTask.NAME);
                ready.complete(null);
              } catch (RuntimeException e) {
                ready.completeExceptionally(e);
              }
            },
            "appchain-service-ready");
    waiter.setDaemon(true);
    waiter.start();
    try {
      report(
          system,
          chain,
          service.getDuration("report-interval"),
          askTimeout,
          out,
          ready,
          () -> node.releaseReadiness(READINESS_HOLD));
    } finally {
      waiter.interrupt(); // still waiting when the node stopped before it was ready
    }
    return new ProverPlugin.Outcome(true, stopLineSaid ? "" : "appchain service stopped\n");
  }

  private static boolean cluster(Config config) {
    return "cluster".equals(config.getString("pekko.actor.provider"));
  }

  /**
   * With the journal in memory, the stop line says what the stop loses and how to keep it: a task
   * of the node's CoordinatedShutdown in phase {@code before-cluster-shutdown} (after the workers'
   * drain, submissions refused since the shutdown began; before a cluster singleton's hand-over)
   * asks the chain for its last figures and prints the line, so that it comes before the node's
   * end, which a signal's exit does not wait past.
   *
   * @param cluster a cluster node ({@code --db-url} keeps the journal), else the embedded {@code
   *     run} (its default {@code --data-dir} does)
   */
  private static void sayWhatIsLostAtTheStop(
      ActorSystem<?> system,
      ActorRef<ChainService.Command> chain,
      Duration askTimeout,
      PrintStream out,
      boolean cluster) {
    Duration timeout = askTimeout.compareTo(LAST_VIEW_TIMEOUT) < 0 ? askTimeout : LAST_VIEW_TIMEOUT;
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeClusterShutdown(),
            "appchain-service-stop-line",
            () -> {
              String elsewhere = cluster ? chainHostElsewhere(system) : null;
              if (elsewhere != null) { // a standby: the chain goes on there, nothing is lost
                out.println(
                    "appchain service stopped on this node; the chain runs on "
                        + elsewhere
                        + ", whose stop alone loses its in-memory journal");
                out.flush();
                return CompletableFuture.completedFuture(Done.getInstance());
              }
              return AskPattern.<ChainService.Command, ChainState.View>ask(
                      chain, ChainService.GetChain::new, timeout, system.scheduler())
                  .handle(
                      (view, failure) -> {
                        out.println(inMemoryStopLine(view, cluster));
                        out.flush();
                        return Done.getInstance();
                      });
            });
  }

  /**
   * The address of the node the chain's singleton runs on (the oldest member with role sequencer,
   * as Pekko places it) when that is not this node, else null.
   */
  static String chainHostElsewhere(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    Member oldest = null;
    for (Member member : cluster.state().getMembers()) {
      if (member.hasRole(ProverNode.SEQUENCER_ROLE)
          && (member.status() == MemberStatus.up()
              || member.status() == MemberStatus.leaving()
              || member.status() == MemberStatus.exiting())
          && (oldest == null || member.isOlderThan(oldest))) {
        oldest = member;
      }
    }
    return oldest == null || oldest.equals(cluster.selfMember())
        ? null
        : oldest.address().getHost().orElse("?") + ":" + oldest.address().getPort().orElse(0);
  }

  /** How long the stop line waits for the chain's last figures. */
  private static final Duration LAST_VIEW_TIMEOUT = Duration.ofSeconds(2);

  /**
   * The stop line of a service whose journal is in memory: nothing of its chain is kept, how many
   * transactions that loses (when {@code last}, the chain's figures at the stop, is known: every
   * one it accepted, proven or not) and which option keeps them.
   */
  static String inMemoryStopLine(ChainState.View last, boolean cluster) {
    String lost =
        last == null
            ? "every transaction it accepted is gone (how many is not known: the chain did not"
                + " answer at the stop)"
            : last.accepted() == 0
                ? "it had accepted no transaction (height " + last.height() + ")"
                : "all "
                    + last.accepted()
                    + " transaction(s) it accepted are gone (height "
                    + last.height()
                    + ", proven height "
                    + last.provenHeight()
                    + "; "
                    + last.unproven()
                    + " not proven yet)";
    return "appchain service stopped: its journal was in memory, so none of its chain is kept: "
        + lost
        + ", and the same command starts again from genesis; to keep every transaction it"
        + " accepted, give it a durable journal: "
        + (cluster
            ? "--db-url (with --db-user, --db-password) for a PostgreSQL database"
            : "run without --in-memory (the journal in --data-dir)");
  }

  /**
   * The dev genesis of {@code prover.appchain-job}'s {@code seed} and {@code accounts}.
   *
   * @throws IllegalArgumentException fewer than 2 accounts
   */
  static Map<String, Long> genesis(Config job) {
    int accounts = job.getInt("accounts");
    if (accounts < 2) {
      throw new IllegalArgumentException(
          "the appchain service needs --accounts >= 2 (a transfer has a sender and a recipient), "
              + "was "
              + accounts);
    }
    return Workload.generate(job.getLong("seed"), accounts, 0, 1, 0).genesis();
  }

  /** A gauge of the value this returns, which the report sets. */
  private static AtomicLong gauge(MeterRegistry registry, String name, String description) {
    AtomicLong value = new AtomicLong();
    Gauge.builder(name, value, AtomicLong::get)
        .description(description)
        .strongReference(true)
        .register(registry);
    return value;
  }

  private static String verify(BatchProof proof, Object keys) {
    if (keys == null) { // this node's start-up has no keys yet (a proof its flow got during a
      // singleton's hand-over): refused, and the batch proven again after retry-after
      return "the circuits' verification keys are not known yet";
    }
    try {
      proof.proof().verify((VerificationKeys) keys);
      return null;
    } catch (RuntimeException e) {
      return e.getMessage();
    }
  }

  /** How often the chain is asked until it first answers ({@link #READINESS_HOLD}). */
  private static final Duration FIRST_ANSWER_POLL = Duration.ofMillis(250);

  /**
   * Until the actor system terminates: keeps the height gauges and prints a line each interval in
   * which the chain moved.
   *
   * @param ready fails when the node's sequencer cannot start: then this throws that failure
   * @param firstAnswer run once, when the chain first answers; until then it is asked every {@link
   *     #FIRST_ANSWER_POLL} rather than every {@code interval}
   */
  private static void report(
      ActorSystem<?> system,
      ActorRef<ChainService.Command> chain,
      Duration interval,
      Duration askTimeout,
      PrintStream out,
      CompletableFuture<Void> ready,
      Runnable firstAnswer)
      throws InterruptedException {
    MeterRegistry registry = ProverMetrics.get(system).registry();
    AtomicLong height = gauge(registry, "prover.appchain.height", "Blocks the appchain produced");
    AtomicLong proven =
        gauge(
            registry, "prover.appchain.proven.height", "Blocks proven from genesis without a gap");
    AtomicLong pending =
        gauge(
            registry,
            "prover.appchain.pending.transactions",
            "Transactions accepted and in no block yet (the mempool)");
    AtomicLong proving =
        gauge(
            registry, "prover.appchain.batches.proving", "Sealed batches waiting for their proof");
    String last = "";
    boolean answered = false;
    while (true) {
      long wait = answered ? interval.toMillis() : FIRST_ANSWER_POLL.toMillis();
      try {
        system.getWhenTerminated().toCompletableFuture().get(wait, TimeUnit.MILLISECONDS);
        return;
      } catch (TimeoutException stillRunning) {
        // report below
      } catch (java.util.concurrent.ExecutionException e) {
        return;
      }
      if (ready.isCompletedExceptionally()) {
        ready.join(); // the job's failure, which the launcher reports
      }
      ChainState.View view;
      try {
        view =
            AskPattern.<ChainService.Command, ChainState.View>ask(
                    chain, ChainService.GetChain::new, askTimeout, system.scheduler())
                .toCompletableFuture()
                .get(askTimeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
        continue; // recovering or writing: the next interval says
      }
      if (!answered) {
        answered = true;
        firstAnswer.run();
      }
      height.set(view.height());
      proven.set(view.provenHeight());
      pending.set(view.pending());
      proving.set(view.batchesProving());
      String line =
          String.format(
              "appchain service: height %d, proven height %d, %d pending, %d accepted, %d batch(es)"
                  + " proving",
              view.height(),
              view.provenHeight(),
              view.pending(),
              view.accepted(),
              view.batchesProving());
      if (!line.equals(last)) {
        out.println(line);
        last = line;
      }
    }
  }
}
