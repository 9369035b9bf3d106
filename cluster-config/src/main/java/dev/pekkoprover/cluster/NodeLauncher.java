package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.node.ClusterTls;
import dev.pekkoprover.node.EndpointsRefusedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.node.WorkerGroup;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The runnable artifact: {@code java -jar prover-node.jar <command>}. */
@Command(
    name = "prover-node",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description = "Distributed proving-task framework: sequencer, task queue and workers on Pekko.",
    subcommands = {
      NodeLauncher.Run.class,
      NodeLauncher.Node.class,
      StatusCommand.class,
      KeysCommand.class
    })
public final class NodeLauncher {

  public static void main(String[] args) {
    // SLF4J binds its provider here, on one thread, before Pekko starts any: when a second thread
    // logs while the
    // first still initialises, SLF4J replays that call and prints a three-line "replay" warning at
    // every start.
    LoggerFactory.getILoggerFactory();
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line with its handler of refused configurations: an {@link
   * EndpointsRefusedException} (e.g. remote HTTP endpoints without TLS) is one line on stderr and
   * exit code {@link EndpointsRefusedException#EXIT_CODE}, not a stack trace.
   */
  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new NodeLauncher());
    commandLine.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof EndpointsRefusedException refused) {
              line.getErr().println("prover-node: " + refused.getMessage());
              return EndpointsRefusedException.EXIT_CODE;
            }
          }
          throw e;
        });
    return commandLine;
  }

  /** The embedded single-JVM appchain: sequencer, local queue and workers in one actor system. */
  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      versionProvider = NodeLauncher.Version.class,
      description =
          "Run the reference appchain in one JVM and check its proofs against the direct computation.")
  static final class Run implements Callable<Integer> {
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

    @picocli.CommandLine.Mixin JobOptions job = new JobOptions();

    @Option(
        names = "--crash-every",
        defaultValue = "0",
        description =
            "drill: on average one proving compute in N crashes its worker (each at random), which restarts (0: never)")
    long crashEvery;

    @picocli.CommandLine.Mixin HttpOptions http = new HttpOptions();

    @Option(
        names = "--data-dir",
        defaultValue = "prover-data",
        description =
            "where the run keeps its task results and batch proofs (an H2 database): run again with the "
                + "same directory to resume after a crash (default: ${DEFAULT-VALUE})")
    java.nio.file.Path dataDir;

    @Option(names = "--fresh", description = "start anew: delete what --data-dir holds first")
    boolean fresh;

    @Option(
        names = "--in-memory",
        description = "keep nothing on disk (no --data-dir, no resume): for benchmarks")
    boolean inMemory;

    @Override
    public Integer call() throws Exception {
      if (workers < 1 || concurrency < 1) {
        System.err.println(
            "run refuses to start: --workers and --concurrency must be at least 1 (were "
                + workers
                + " and "
                + concurrency
                + "): the embedded run proves on its own workers");
        return USAGE_EXIT;
      }
      Config base = http.apply(ConfigFactory.load("single-jvm"));
      String httpPortInUse = HttpOptions.portInUse(base);
      if (httpPortInUse != null) {
        System.err.println("run refuses to start: " + httpPortInUse);
        return USAGE_EXIT;
      }
      Config config = inMemory ? base : DataDirectory.open(dataDir, fresh, base, System.out);
      AppchainSettings settings = job.settings(config);
      System.out.printf(
          "starting: 1 sequencer, local queue, %d worker(s) x %d; %d blocks x %d txs, seed %d, "
              + "proving-work %d%s%n",
          workers,
          concurrency,
          job.blocks,
          job.txPerBlock,
          job.seed,
          settings.provingWork(),
          crashEvery > 0 ? ", a crash every " + crashEvery + " proving computes" : "");
      long start = System.nanoTime();
      try (ProverNode node =
          ProverNode.builder("appchain")
              .config(config)
              .catalog(AppchainJob.catalog(crashEvery))
              .localQueue()
              .sequencer(AppchainJob.startupPlan(settings))
              .workers(WorkerGroup.allTypes(workers, concurrency))
              .start()) {
        System.out.println(node.endpointsLine());
        JobProgress.awaitReady(
            node, System.out, CircuitCompilerTask.NAME); // saying what it waits for
        System.out.printf(
            "ready in %d ms: circuits compiled, %d worker(s) registered and prepared%n",
            (System.nanoTime() - start) / 1_000_000, workers);
        AppchainJob.Summary summary = AppchainJob.run(node, settings, job.options(), System.out);
        System.out.print(summary.render());
        return summary.ok() ? 0 : 1;
      }
    }
  }

  /** Where a node serves its HTTP endpoints (metrics, status, health) and who may read them. */
  static final class HttpOptions {
    @Option(
        names = "--http-host",
        description =
            "address of the HTTP endpoints (default: prover.http.host, 127.0.0.1: this machine only; "
                + "0.0.0.0 for a scraper or probe on another host, which needs --http-tls and --http-token-file)")
    String host;

    @Option(
        names = "--http-tls",
        description =
            "serve the HTTP endpoints over HTTPS with the node's PEM key and certificate (prover.tls.key-file "
                + "and cert-file); clients with a certificate from prover.tls.ca-cert-file need no token")
    boolean tls;

    @Option(
        names = "--http-token-file",
        defaultValue = "${env:PROVER_HTTP_TOKEN_FILE}",
        description =
            "a file holding the bearer token every request to the HTTP endpoints must carry (default: "
                + "$PROVER_HTTP_TOKEN_FILE, else prover.http.token-file; none: no token)")
    String tokenFile;

    @Option(
        names = "--http-port",
        description =
            "port of the HTTP endpoints: 0 a free one, printed at start-up; -1 none (default: "
                + "prover.http.port, 0)")
    Integer port;

    /** {@code config} with the options given laid over it ({@code prover.http.*}). */
    Config apply(Config config) {
      Map<String, Object> overrides = new LinkedHashMap<>();
      if (host != null) {
        overrides.put("prover.http.host", host);
      }
      if (tls) {
        overrides.put("prover.http.https", true);
      }
      if (tokenFile != null && !tokenFile.isBlank()) {
        overrides.put("prover.http.token-file", tokenFile);
      }
      if (port != null && port < 0) {
        overrides.put("prover.http.enabled", false);
      } else if (port != null) {
        overrides.put("prover.http.port", port);
      }
      return ConfigFactory.parseMap(overrides, "the HTTP options").withFallback(config);
    }

    /**
     * Why the HTTP endpoints of {@code config} (with these options applied) cannot take their fixed
     * port, or null when they are off, on a free port (0) or their port is free; checked before the
     * actor system starts.
     */
    static String portInUse(Config config) {
      if (!config.getBoolean("prover.http.enabled") || config.getInt("prover.http.port") == 0) {
        return null;
      }
      return ClusterPlacement.portInUse(
          config.getString("prover.http.host"), config.getInt("prover.http.port"), "--http-port");
    }
  }

  /**
   * Options of the appchain job, shared by the embedded run and a cluster node with the sequencer
   * role.
   */
  static final class JobOptions {
    @Option(
        names = "--blocks",
        defaultValue = "20",
        description = "blocks to produce (default: ${DEFAULT-VALUE})")
    int blocks;

    @Option(
        names = "--txs",
        defaultValue = "32",
        description = "transactions per block (default: ${DEFAULT-VALUE})")
    int txPerBlock;

    @Option(
        names = "--accounts",
        defaultValue = "200",
        description = "funded accounts (default: ${DEFAULT-VALUE})")
    int accounts;

    @Option(
        names = "--batch",
        defaultValue = "5",
        description = "blocks per batch proof (default: ${DEFAULT-VALUE})")
    int blocksPerBatch;

    @Option(
        names = "--seed",
        defaultValue = "42",
        description = "workload seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(
        names = "--proving-work",
        description =
            "SHA-256 iterations per proof (default: prover.appchain.proving-work of the configuration)")
    Long provingWork;

    AppchainJob.Options options() {
      return new AppchainJob.Options(accounts, blocks, txPerBlock, blocksPerBatch, seed);
    }

    AppchainSettings settings(Config config) {
      AppchainSettings settings = AppchainSettings.fromConfig(config);
      return provingWork == null ? settings : settings.withProvingWork(provingWork);
    }

    /**
     * The options as the appchain plugin's settings ({@code prover.appchain-job}, {@code
     * prover.appchain}).
     */
    Config config(long crashEvery) {
      Map<String, Object> settings = new LinkedHashMap<>();
      settings.put("prover.appchain-job.accounts", accounts);
      settings.put("prover.appchain-job.blocks", blocks);
      settings.put("prover.appchain-job.txs", txPerBlock);
      settings.put("prover.appchain-job.batch", blocksPerBatch);
      settings.put("prover.appchain-job.seed", seed);
      settings.put("prover.appchain-job.crash-every", crashEvery);
      if (provingWork != null) {
        settings.put("prover.appchain.proving-work", provingWork);
      }
      return ConfigFactory.parseMap(settings, "the appchain job's options");
    }
  }

  /** One node of the cluster deployment, with any of the roles sequencer, queue and worker. */
  @Command(
      name = "node",
      mixinStandardHelpOptions = true,
      versionProvider = NodeLauncher.Version.class,
      description =
          "Start one cluster node. With the sequencer role it runs the plugin's job (the appchain's by "
              + "default) once the cluster is up; with the worker role it proves; with the queue role it hosts the sharded "
              + "queue.")
  static final class Node implements Callable<Integer> {
    @Option(
        names = "--roles",
        required = true,
        split = ",",
        description = "any of sequencer, queue, worker (comma-separated)")
    List<String> roles;

    @Option(
        names = "--host",
        defaultValue = "127.0.0.1",
        description = "address to bind and advertise (default: ${DEFAULT-VALUE})")
    String host;

    @Option(
        names = "--port",
        defaultValue = "7355",
        description = "cluster port (default: ${DEFAULT-VALUE})")
    int port;

    @Option(
        names = "--seeds",
        split = ",",
        description =
            "seed nodes as host:port, the same list on every node, a stateful (sequencer or queue) node "
                + "first: a node restarted with the same command then rejoins the running cluster (default: this node "
                + "itself, which starts a new cluster)")
    List<String> seeds;

    @Option(
        names = "--workers",
        defaultValue = "1",
        description = "workers on this node, with the worker role (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(
        names = "--concurrency",
        defaultValue = "2",
        description = "tasks per worker at once (default: ${DEFAULT-VALUE})")
    int concurrency;

    @Option(
        names = "--tasks",
        split = ",",
        description =
            "task types this node's workers serve (default: all), e.g. StateTransitionTask,StateTransitionReductionTask")
    List<String> tasks;

    @Option(
        names = "--crash-every",
        defaultValue = "0",
        description =
            "drill: on average one proving compute in N on this node crashes its worker (0: never)")
    long crashEvery;

    @Option(
        names = "--plugin",
        description =
            "the task types and job this node runs: a ProverPlugin's name or class, on the class path "
                + "(java -cp prover-node.jar:<your jar> dev.pekkoprover.cluster.NodeLauncher node ...), the same on "
                + "every node (default: the only plugin on the class path, the appchain when this jar runs alone)")
    String plugin;

    @Option(
        names = "--db-url",
        defaultValue = "${env:PROVER_DB_URL}",
        description =
            "with the sequencer role: keep task results and flow outcomes in this PostgreSQL database "
                + "(jdbc:postgresql://host:5432/db; tables created if missing), so that a sequencer started again resumes "
                + "its job (default: $PROVER_DB_URL; none: nothing is kept)")
    String dbUrl;

    @Option(
        names = "--db-user",
        defaultValue = "${env:PROVER_DB_USER}",
        description = "the database user (default: $PROVER_DB_USER)")
    String dbUser;

    @Option(
        names = "--db-password",
        defaultValue = "${env:PROVER_DB_PASSWORD}",
        description = "the database password (default: $PROVER_DB_PASSWORD)")
    String dbPassword;

    @Option(
        names = "--cluster-name",
        defaultValue = "${env:PROVER_CLUSTER_NAME:-prover}",
        description =
            "the cluster's name, the same on every node (the actor system's name: nodes of clusters with "
                + "different names never join each other) (default: $PROVER_CLUSTER_NAME, else ${DEFAULT-VALUE})")
    String clusterName;

    @Option(
        names = "--tls",
        defaultValue = "${env:PROVER_TLS_DIR}",
        description =
            "directory with this node's tls.key, tls.crt and ca.crt (PEM, as `prover-node keys` makes them): "
                + "traffic between nodes is encrypted and only nodes with a certificate of this cluster's CA join; the "
                + "files are read again every minute, so replacing them rotates keys without a restart "
                + "(default: $PROVER_TLS_DIR)")
    java.nio.file.Path tls;

    @Option(
        names = "--no-tls",
        description =
            "run without TLS between nodes (plain TCP): any process that can reach the cluster port can join "
                + "the cluster and send it tasks and results; for a trusted network or a try-out only")
    boolean noTls;

    @Option(
        names = "--exit-when-done",
        description =
            "with the sequencer role: leave the cluster and exit after the job (code 0 when the proofs match)")
    boolean exitWhenDone;

    @picocli.CommandLine.Mixin JobOptions job = new JobOptions();

    @picocli.CommandLine.Mixin HttpOptions http = new HttpOptions();

    @Override
    public Integer call() throws Exception {
      for (String role : roles) {
        if (!List.of(ProverNode.SEQUENCER_ROLE, ProverNode.QUEUE_ROLE, WORKER_ROLE)
            .contains(role)) {
          throw new CommandLine.ParameterException(
              new CommandLine(this), "unknown role '" + role + "': use sequencer, queue or worker");
        }
      }
      String invalidName = ClusterKeys.invalidClusterName(clusterName);
      if (invalidName != null) {
        System.err.println("node refuses to start: " + invalidName + " (--cluster-name)");
        return USAGE_EXIT;
      }
      String badSeed = seeds == null ? null : ClusterPlacement.invalidSeed(seeds);
      if (badSeed != null) {
        System.err.println("node refuses to start: " + badSeed);
        return USAGE_EXIT;
      }
      if (port < 0 || port > 65535) {
        System.err.println(
            "node refuses to start: --port " + port + " is no port (1 to 65535, 0 for a free one)");
        return USAGE_EXIT;
      }
      String portInUse = ClusterPlacement.portInUse(host, port, "--port");
      if (portInUse != null) {
        System.err.println("node refuses to start: " + portInUse);
        return USAGE_EXIT;
      }
      if (roles.contains(WORKER_ROLE) && (workers < 1 || concurrency < 1)) {
        System.err.println(
            "node refuses to start: a node with the worker role needs --workers and --concurrency of "
                + "at least 1 (were "
                + workers
                + " and "
                + concurrency
                + "); leave the role out for a node without "
                + "workers");
        return USAGE_EXIT;
      }
      PluginChoice.Result chosen = PluginChoice.choose(plugin);
      if (chosen.plugin() == null) {
        System.err.println("node refuses to start: " + chosen.refusal());
        return USAGE_EXIT;
      }
      Config transport;
      if (noTls) {
        transport = ClusterTls.plainTcp();
      } else if (tls == null || tls.toString().isBlank()) {
        System.err.println(
            "node refuses to start without TLS: give --tls <dir> with this node's tls.key, tls.crt and "
                + "ca.crt (make them with `prover-node keys --out <dir> --nodes <n>`, then use <dir>/node-<i>; or set "
                + "PROVER_TLS_DIR), or --no-tls to run without (then any process that can reach port "
                + port
                + " can join the cluster)");
        return USAGE_EXIT;
      } else {
        ClusterTls.NodeFiles files = ClusterTls.NodeFiles.inDirectory(tls);
        String problem = files.problem();
        if (problem != null) {
          System.err.println("node refuses to start: " + problem + " (--tls " + tls + ")");
          return USAGE_EXIT;
        }
        transport = files.config();
      }
      Config placement =
          ClusterPlacement.config(
              roles, host, port, seeds == null ? List.of() : seeds, clusterName);
      Config config =
          ClusterTls.load(
              http.apply(job.config(crashEvery).withFallback(placement).withFallback(transport)));
      String httpPortInUse = HttpOptions.portInUse(config);
      if (httpPortInUse != null) {
        System.err.println("node refuses to start: " + httpPortInUse);
        return USAGE_EXIT;
      }
      if (noTls) {
        org.slf4j.LoggerFactory.getLogger(NodeLauncher.class)
            .warn(
                "node {}:{} runs without TLS (--no-tls): traffic "
                    + "between nodes is not encrypted and any process that can reach port {} can join the cluster",
                host,
                port,
                port);
      }
      boolean sequencer = roles.contains(ProverNode.SEQUENCER_ROLE);
      if (sequencer && dbUrl != null && !dbUrl.isBlank()) {
        config =
            PostgresJournal.open(
                dbUrl, dbUser, dbPassword, config); // durable: results survive this node
      }
      ProverPlugin tasksAndJob = chosen.plugin();
      ProverNode.Builder builder =
          ProverNode.builder(clusterName) // workers named after the node's address (host:port)
              .config(config)
              .catalog(tasksAndJob.catalog(config))
              .clusterQueue();
      if (sequencer) {
        builder.sequencer(tasksAndJob.startupPlan(config));
      }
      if (roles.contains(WORKER_ROLE)) {
        builder.workers(
            WorkerGroup.of(
                workers, tasks == null ? tasksAndJob.workerTaskTypes(config) : tasks, concurrency));
      }
      ProverNode node = builder.start();
      String self = ProverNode.hostPort(Cluster.get(node.system()).selfMember().address());
      // before the line that says the node is up: a SIGTERM after it exits 0 (one during start-up
      // exits 143)
      NodeExit exit = new NodeExit(node, self);
      System.out.printf("node %s up with roles %s, plugin %s%n", self, roles, tasksAndJob.name());
      System.out.println(node.endpointsLine());
      if (!sequencer) {
        return exit.awaitTermination();
      }
      ProverPlugin.Job sequencerJob = tasksAndJob.job(config);
      CompletableFuture<ProverPlugin.Outcome> run = new CompletableFuture<>();
      Thread jobThread =
          new Thread(
              () -> {
                try {
                  run.complete(sequencerJob.run(node, System.out));
                } catch (Throwable e) {
                  run.completeExceptionally(e);
                }
              },
              tasksAndJob.name() + "-job");
      jobThread.setDaemon(true); // a job whose actor system is gone must not keep the JVM alive
      jobThread.start();
      // The job waits on flows of this node's actor system: wait on either, so that a downed node
      // exits.
      CompletableFuture.anyOf(run, exit.terminated()).exceptionally(e -> null).join();
      if (!run.isDone()) {
        return exit.awaitTermination();
      }
      if (run.isCompletedExceptionally()) {
        try { // a job fails when its actor system goes away under it: then the system's end decides
          // the code
          exit.terminated().get(10, TimeUnit.SECONDS);
          return exit.awaitTermination();
        } catch (TimeoutException stillRunning) {
          run.join(); // the job's own failure: thrown, reported by picocli, exit code 1
        }
      }
      ProverPlugin.Outcome summary = run.join();
      System.out.print(summary.summary());
      System.out.flush();
      if (exitWhenDone) {
        exit.askedFor();
        node.close();
        return summary.ok() ? 0 : 1;
      }
      WorkerNodeEvents.start(
          node.system(), System.out::println, false); // worker nodes joining and leaving
      return exit.awaitTermination(); // the node stays in the cluster until it is stopped or downed
    }
  }

  /**
   * {@code --version}: this build's version (from the runnable jar's manifest), Pekko's and Java's.
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = NodeLauncher.class.getPackage().getImplementationVersion();
      return new String[] {
        "prover-node "
            + (version == null ? "(version unknown: not run from prover-node.jar)" : version)
            + ", Apache Pekko "
            + org.apache.pekko.Version.current()
            + ", Java "
            + Runtime.version()
      };
    }
  }

  /**
   * The default cluster name: the actor system's name, in seed addresses {@code
   * pekko://prover@host:port}.
   */
  static final String SYSTEM = "prover";

  /**
   * Exit code of a command that refuses to start (picocli's code for bad usage): the printed line
   * says why.
   */
  static final int USAGE_EXIT = 2;

  static final String WORKER_ROLE = "worker";
}
