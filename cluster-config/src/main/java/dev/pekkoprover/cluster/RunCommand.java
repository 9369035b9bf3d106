package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.node.ClusterTls;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.http.javadsl.server.Directives;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The embedded single-JVM appchain: sequencer, local queue and workers in one actor system. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Run the reference appchain in one JVM and check its proofs against the direct computation.")
final class RunCommand implements Callable<Integer> {
  @Option(
      names = "--workers",
      defaultValue = "2",
      description = "local workers (default: ${DEFAULT-VALUE})")
  int workers;

  @Option(
      names = "--concurrency",
      defaultValue = "2",
      description = "tasks per worker at once (default: ${DEFAULT-VALUE})")
  int concurrency;

  @picocli.CommandLine.Mixin NodeLauncher.JobOptions job = new NodeLauncher.JobOptions();

  @Option(
      names = "--crash-every",
      defaultValue = "0",
      description =
          "drill: on average one proving compute in N crashes its worker (each at random), which restarts (0: never)")
  long crashEvery;

  @picocli.CommandLine.Mixin NodeLauncher.HttpOptions http = new NodeLauncher.HttpOptions();

  @Option(
      names = "--data-dir",
      defaultValue = "prover-data",
      description =
          "where the run keeps its task results and batch proofs (an H2 database): run again with the "
              + "same directory to resume after a crash (default: ${DEFAULT-VALUE})")
  java.nio.file.Path dataDir;

  @Option(
      names = "--tls",
      defaultValue = "${env:PROVER_TLS_DIR}",
      description =
          "directory with the HTTPS identity of --http-tls: tls.key, tls.crt and ca.crt (PEM, as "
              + "`prover-node keys` makes them); clients with a certificate of its CA need no token "
              + "(default: $PROVER_TLS_DIR)")
  java.nio.file.Path tls;

  @Option(names = "--fresh", description = "start anew: delete what --data-dir holds first")
  boolean fresh;

  @Option(
      names = "--in-memory",
      description = "keep nothing on disk (no --data-dir, no resume): for benchmarks")
  boolean inMemory;

  /** The bounded job returned (its summary is printed): a signal now did not stop it. */
  private volatile boolean jobEnded;

  /** The bounded job's signal watch, once it runs. */
  private SignalWatch jobSignals;

  @Override
  public Integer call() throws Exception {
    if (workers < 1 || concurrency < 1) {
      System.err.println(
          "run refuses to start: --workers and --concurrency must be at least 1 (were "
              + workers
              + " and "
              + concurrency
              + "): the embedded run proves on its own workers");
      return NodeLauncher.USAGE_EXIT;
    }
    if (inMemory && fresh) {
      System.err.println(
          "run refuses to start: --fresh deletes what --data-dir holds, and --in-memory uses no"
              + " data directory: give one of them");
      return NodeLauncher.USAGE_EXIT;
    }
    String jobMisuse = job.misuse();
    if (jobMisuse != null) {
      System.err.println("run refuses to start: " + jobMisuse);
      return NodeLauncher.USAGE_EXIT;
    }
    Config base = http.apply(ConfigFactory.load("single-jvm"));
    if (tls != null && !tls.toString().isBlank()) {
      ClusterTls.NodeFiles files = ClusterTls.NodeFiles.inDirectory(tls);
      String problem = files.httpsProblem(); // HTTPS only: a chain through an intermediate is fine
      if (problem != null) {
        System.err.println("run refuses to start: " + problem + " (--tls " + tls + ")");
        return NodeLauncher.USAGE_EXIT;
      }
      base = files.config().withFallback(base);
    }
    String httpPortInUse = NodeLauncher.HttpOptions.portInUse(base);
    if (httpPortInUse != null) {
      System.err.println("run refuses to start: " + httpPortInUse);
      return NodeLauncher.USAGE_EXIT;
    }
    base = job.config(crashEvery).withFallback(base);
    AppchainSettings settings;
    TaskCatalog catalog;
    AppchainJob.Options options = null;
    try { // every setting is checked before anything starts and before --fresh deletes anything
      settings = job.settings(base);
      ProvingOrchestrator.checkSettings(base);
      catalog = AppchainJob.catalog(crashEvery);
      if (job.service) {
        ServiceSettings.fromConfig(base);
        AppchainService.genesis(base.getConfig("prover.appchain-job"));
      } else {
        options = job.options();
      }
    } catch (IllegalArgumentException | ConfigException e) {
      System.err.println("run refuses to start: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    Config config;
    try {
      config = inMemory ? base : DataDirectory.open(dataDir, fresh, base, System.out);
    } catch (IOException e) { // in use by another run, not writable: nothing has started
      System.err.println(
          "run refuses to start: " + e.getMessage() + " (--data-dir " + dataDir + ")");
      return NodeLauncher.USAGE_EXIT;
    }
    System.out.printf(
        "starting: 1 sequencer, local queue, %d worker(s) x %d; %s, seed %d, proving-work %d%s%n",
        workers,
        concurrency,
        job.service
            ? "the appchain service, blocks of at most " + job.txPerBlock + " txs"
            : job.blocks + " blocks x " + job.txPerBlock + " txs",
        job.seed,
        settings.provingWork(),
        crashEvery > 0 ? ", a crash every " + crashEvery + " proving computes" : "");
    long start = System.nanoTime();
    ProverNode.Builder builder =
        ProverNode.builder("appchain")
            .config(config)
            .catalog(catalog)
            .localQueue()
            .sequencer(AppchainJob.startupPlan(settings))
            .workers(WorkerGroup.allTypes(workers, concurrency))
            .mount(job.service ? ChainApi.starting() : Directives.reject());
    if (job.service) {
      builder.holdReadiness(AppchainService.READINESS_HOLD);
    }
    int exit;
    ProverNode started;
    try (ProverNode node = builder.start()) {
      started = node;
      System.out.println(node.endpointsLine());
      JobProgress.awaitReady(
          node, System.out, CircuitCompilerTask.NAME); // saying what it waits for
      System.out.printf(
          "ready in %d ms: circuits compiled, %d worker(s) registered and prepared%n",
          (System.nanoTime() - start) / 1_000_000, workers);
      if (job.service) { // until Ctrl-C: the JVM's shutdown runs the node's coordinated shutdown
        SignalWatch signals = SignalWatch.start();
        Runtime.getRuntime()
            .addShutdownHook(new Thread(() -> onSignal(node, signals), "run-service-exit"));
        AppchainService.run(node, settings, config, System.out);
        return 0;
      }
      SignalWatch signals = SignalWatch.start();
      jobSignals = signals;
      Runtime.getRuntime()
          .addShutdownHook(new Thread(() -> onJobSignal(node, signals), "run-job-exit"));
      AppchainJob.Summary summary = AppchainJob.run(node, settings, options, System.out);
      if (signals.signalled()) { // stopped under it: the hook says what is kept
        return 128 + 15;
      }
      jobEnded = true;
      System.out.print(summary.render());
      exit = summary.ok() ? 0 : 1;
    }
    // only once the node has ended: a node whose termination stalled may still hold the journal;
    // not after a stop signal, whose exit would cut the compaction short
    if (!inMemory
        && started.ended().getNow(false)
        && (jobSignals == null || !jobSignals.signalled())) {
      DataDirectory.compactAfterRun(dataDir, config, System.out);
    }
    return exit;
  }

  /**
   * Ctrl-C or SIGTERM on a bounded job before it ended: once the node has shut down, one line that
   * says what is kept and that the same command goes on from it. The exit code stays the signal's
   * (143 for SIGTERM): the job did not finish. A job that ended, or a fatal error, prints nothing
   * here.
   */
  private void onJobSignal(ProverNode node, SignalWatch signals) {
    if (jobEnded) { // the job had ended: a signal now only cuts the node's close short
      return;
    }
    try {
      if (!node.ended().get(60, TimeUnit.SECONDS)) {
        return;
      }
    } catch (Exception notInTime) {
      return;
    }
    if (!signals.stoppedBySignal(CoordinatedShutdown.get(node.system()).getShutdownReason())) {
      return;
    }
    System.out.println(
        inMemory
            ? "run stopped by "
                + signals.signalName()
                + " before the job ended: its journal was in memory (--in-memory), so nothing is"
                + " kept; the same command starts again from the beginning"
            : "run stopped by "
                + signals.signalName()
                + " before the job ended: every task result and batch proof the journal confirmed"
                + " is kept in "
                + dataDir
                + "; the same command goes on from them (what was in flight is computed again)");
    System.out.flush();
  }

  /**
   * Ctrl-C or SIGTERM on the service: once the node has shut down (Pekko's own hook runs its
   * coordinated shutdown, which ends the journal's writes), one line, and exit 0 instead of the
   * signal's 143, which systemd and most supervisors count as a failure (as {@link NodeExit} does
   * for a cluster node). Not after a fatal error: Pekko's {@code System.exit(-1)} keeps its code.
   */
  private void onSignal(ProverNode node, SignalWatch signals) {
    try {
      if (!node.ended().get(60, TimeUnit.SECONDS)) {
        return; // stalled in its last phase: the JVM exits with the signal's code
      }
    } catch (Exception notInTime) {
      return;
    }
    Optional<CoordinatedShutdown.Reason> reason =
        CoordinatedShutdown.get(node.system()).getShutdownReason();
    if (signals.exitFromWithin(reason)) {
      System.err.println(SignalWatch.exitFromWithinLine("appchain service stopped"));
      System.err.flush();
      return;
    }
    if (!signals.stoppedBySignal(reason)) {
      return; // not a signal: the service failed and closed its node; main exits with its code
    }
    if (!inMemory) { // in memory, the service's own stop line said what was lost
      System.out.println(
          "appchain service stopped: every transaction it accepted is in "
              + dataDir
              + "; the same command goes on");
    }
    System.out.flush();
    System.err.flush();
    Runtime.getRuntime().halt(0);
  }
}
