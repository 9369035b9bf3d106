package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.pekkoprover.node.ClusterTls;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.node.Termination;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.cluster.typed.Cluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** One node of the cluster deployment, with any of the roles sequencer, queue and worker. */
@Command(
    name = "node",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Start one cluster node. With the sequencer role it runs the plugin's job (the appchain's by "
            + "default) once the cluster is up; with the worker role it proves; with the queue role it hosts the sharded "
            + "queue.")
final class NodeCommand implements Callable<Integer> {
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

  @Option(
      names = "--exit-without-sequencer",
      description =
          "without the sequencer role: once no sequencer node has been Up and reachable for "
              + "prover.worker.sequencer-absent-after (60 s), leave the cluster and exit with code "
              + NodeExit.NO_SEQUENCER
              + " instead of waiting (also prover.worker.exit-without-sequencer = on)")
  boolean exitWithoutSequencer;

  @Option(
      names = "--queue-nodes",
      defaultValue = "${env:PROVER_QUEUE_NODES}",
      description =
          "with the queue role: how many queue nodes start with a new cluster. Its task types' queues "
              + "are placed only once that many have joined (at most "
              + "prover.queue.cluster.placement.max-wait, 60 s), so that they spread over them; a queue "
              + "never moves while its node lives. Only the cluster's first placement waits, so give "
              + "the same on every queue node, restarts included (default: $PROVER_QUEUE_NODES, "
              + "else 1: place at once)")
  Integer queueNodes;

  @picocli.CommandLine.Mixin NodeLauncher.JobOptions job = new NodeLauncher.JobOptions();

  @picocli.CommandLine.Mixin NodeLauncher.HttpOptions http = new NodeLauncher.HttpOptions();

  @Override
  public Integer call() throws Exception {
    for (String role : roles) {
      if (!List.of(ProverNode.SEQUENCER_ROLE, ProverNode.QUEUE_ROLE, NodeLauncher.WORKER_ROLE)
          .contains(role)) {
        System.err.println(
            "node refuses to start: unknown role '"
                + role
                + "' in --roles: use sequencer, queue or worker (comma-separated)");
        return NodeLauncher.USAGE_EXIT;
      }
    }
    if (exitWithoutSequencer && roles.contains(ProverNode.SEQUENCER_ROLE)) {
      System.err.println(
          "node refuses to start: --exit-without-sequencer is for nodes without the sequencer role");
      return NodeLauncher.USAGE_EXIT;
    }
    if (queueNodes != null && queueNodes < 1) {
      System.err.println(
          "node refuses to start: --queue-nodes "
              + queueNodes
              + " is no number of queue nodes (from the option, else PROVER_QUEUE_NODES): give how"
              + " many queue nodes start with the cluster (1 places the queues at once)");
      return NodeLauncher.USAGE_EXIT;
    }
    String invalidName = ClusterKeys.invalidClusterName(clusterName);
    if (invalidName != null) {
      System.err.println("node refuses to start: " + invalidName + " (--cluster-name)");
      return NodeLauncher.USAGE_EXIT;
    }
    String badSeed = seeds == null ? null : ClusterPlacement.invalidSeed(seeds);
    if (badSeed != null) {
      System.err.println("node refuses to start: " + badSeed);
      return NodeLauncher.USAGE_EXIT;
    }
    if (port < 0 || port > 65535) {
      System.err.println(
          "node refuses to start: --port " + port + " is no port (1 to 65535, 0 for a free one)");
      return NodeLauncher.USAGE_EXIT;
    }
    if (port == 0 && (seeds == null || seeds.isEmpty())) {
      System.err.println(
          "node refuses to start: --port 0 (a free port) needs --seeds: without, the node is its "
              + "own seed, whose port nobody knows before it binds; give the cluster's seeds, or a "
              + "port for a node that starts a cluster");
      return NodeLauncher.USAGE_EXIT;
    }
    String portInUse = ClusterPlacement.portInUse(host, port, "--port");
    if (portInUse != null) {
      System.err.println("node refuses to start: " + portInUse);
      return NodeLauncher.USAGE_EXIT;
    }
    if (roles.contains(NodeLauncher.WORKER_ROLE) && (workers < 1 || concurrency < 1)) {
      System.err.println(
          "node refuses to start: a node with the worker role needs --workers and --concurrency of "
              + "at least 1 (were "
              + workers
              + " and "
              + concurrency
              + "); leave the role out for a node without "
              + "workers");
      return NodeLauncher.USAGE_EXIT;
    }
    String jobMisuse = job.misuse();
    if (jobMisuse != null) {
      System.err.println("node refuses to start: " + jobMisuse);
      return NodeLauncher.USAGE_EXIT;
    }
    if (job.service && exitWhenDone) {
      System.err.println(
          "node refuses to start: --service runs until stopped, --exit-when-done after a bounded "
              + "job: give one of them");
      return NodeLauncher.USAGE_EXIT;
    }
    if (job.service && !roles.contains(ProverNode.SEQUENCER_ROLE)) {
      System.err.println(
          "node refuses to start: --service is the sequencer's (add the role sequencer, or leave "
              + "--service out on worker and queue nodes)");
      return NodeLauncher.USAGE_EXIT;
    }
    PluginChoice.Result chosen = PluginChoice.choose(plugin);
    if (chosen.plugin() == null) {
      System.err.println("node refuses to start: " + chosen.refusal());
      return NodeLauncher.USAGE_EXIT;
    }
    if (chosen.note() != null) {
      System.out.println(chosen.note());
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
      return NodeLauncher.USAGE_EXIT;
    } else {
      ClusterTls.NodeFiles files = ClusterTls.NodeFiles.inDirectory(tls);
      String problem = files.problem();
      if (problem != null) {
        System.err.println("node refuses to start: " + problem + " (--tls " + tls + ")");
        return NodeLauncher.USAGE_EXIT;
      }
      String otherCluster;
      try {
        otherCluster = ClusterTls.otherClusterOf(files.certificate(), clusterName);
      } catch (IllegalStateException changedSinceTheCheck) {
        System.err.println(
            "node refuses to start: " + changedSinceTheCheck.getMessage() + " (--tls " + tls + ")");
        return NodeLauncher.USAGE_EXIT;
      }
      if (otherCluster != null) {
        org.slf4j.LoggerFactory.getLogger(NodeLauncher.class)
            .warn("node {}:{}: {}", host, port, otherCluster);
      }
      transport = files.config();
    }
    Config placement =
        ClusterPlacement.config(roles, host, port, seeds == null ? List.of() : seeds, clusterName);
    if (queueNodes != null) {
      placement =
          com.typesafe.config.ConfigFactory.parseMap(
                  java.util.Map.of("prover.queue.cluster.placement.queue-nodes", queueNodes),
                  "the node command's --queue-nodes")
              .withFallback(placement);
    }
    Config config =
        ClusterTls.load(
            http.apply(job.config(crashEvery).withFallback(placement).withFallback(transport)));
    SequencerWatch.Settings watch;
    java.time.Duration islandAfter;
    try {
      watch = SequencerWatch.Settings.from(config);
      islandAfter = IslandWatch.after(config);
      dev.pekkoprover.queue.QueuePlacement.Settings.fromConfig(config);
    } catch (ConfigException e) {
      System.err.println("node refuses to start: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    try {
      ProverNode.drainTimeout(config); // a drain that cannot fit its shutdown phase
      // the bounds of the wait for the node's end (prover.cluster.downed-termination-timeout)
      Termination.bound(config, Optional.of(CoordinatedShutdown.clusterDowningReason()));
      Termination.bound(config, Optional.empty());
    } catch (IllegalStateException | IllegalArgumentException | ConfigException e) {
      System.err.println("node refuses to start: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    if (exitWithoutSequencer) {
      watch = new SequencerWatch.Settings(watch.absentAfter(), true);
    }
    String httpPortInUse = NodeLauncher.HttpOptions.portInUse(config);
    if (httpPortInUse != null) {
      System.err.println("node refuses to start: " + httpPortInUse);
      return NodeLauncher.USAGE_EXIT;
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
    if (sequencer) { // before the database: a bad setting neither waits for it nor changes it
      try {
        ProvingOrchestrator.checkSettings(config);
      } catch (IllegalArgumentException | ConfigException e) {
        System.err.println("node refuses to start: " + e.getMessage());
        return NodeLauncher.USAGE_EXIT;
      }
    }
    if (!sequencer && dbUrl != null && !dbUrl.isBlank()) { // a trial's worker took it silently
      org.slf4j.LoggerFactory.getLogger(NodeLauncher.class)
          .info(
              "node {}:{} has no role sequencer: --db-url (or PROVER_DB_URL) is not used here; only"
                  + " the sequencer's stores use a database, queue and worker nodes need none",
              host,
              port);
    }
    if (queueNodes != null && queueNodes > 1 && !roles.contains(ProverNode.QUEUE_ROLE)) {
      org.slf4j.LoggerFactory.getLogger(NodeLauncher.class)
          .info(
              "node {}:{} has no role queue: --queue-nodes (or PROVER_QUEUE_NODES) is not used here;"
                  + " the queues are placed by the oldest queue node",
              host,
              port);
    }
    boolean durable = sequencer && dbUrl != null && !dbUrl.isBlank();
    if (durable) {
      try { // durable: results survive this node
        config = PostgresJournal.config(dbUrl, dbUser, dbPassword, config);
      } catch (IllegalArgumentException e) { // not a PostgreSQL JDBC URL
        System.err.println("node refuses to start: " + e.getMessage());
        return NodeLauncher.USAGE_EXIT;
      }
      // while it waits for the database, the node's endpoints answer: alive, not ready, and why
      try (DatabaseWait waiting =
          new DatabaseWait(config, host + ":" + port, "PostgreSQL " + dbUrl, System.out)) {
        JournalSchema.ensure(config, waiting::failed);
      } catch (JournalSchema.Refused e) { // a wrong password: exit for the operator to see
        System.err.println("node refuses to start: " + e.getMessage());
        return NodeLauncher.USAGE_EXIT;
      }
    }
    ProverPlugin tasksAndJob = chosen.plugin();
    ProverNode.Builder builder =
        ProverNode.builder(clusterName) // workers named after the node's address (host:port)
            .config(config)
            .clusterQueue();
    ProverPlugin.Job sequencerJob = null;
    try { // the plugin reads its settings before the node joins: a bad one is one line, exit 2
      TaskCatalog catalog = tasksAndJob.catalog(config);
      builder.catalog(catalog);
      if (sequencer) {
        builder.sequencer(tasksAndJob.startupPlan(config));
        sequencerJob = tasksAndJob.job(config);
        if (job.service) { // 503 "starting" until the chain is ready, never a 404
          builder.mount(ChainApi.starting()).holdReadiness(AppchainService.READINESS_HOLD);
        }
      }
      if (roles.contains(NodeLauncher.WORKER_ROLE)) {
        List<String> served = tasks == null ? tasksAndJob.workerTaskTypes(config) : tasks;
        for (String type : served) {
          if (!catalog.contains(type)) {
            throw new IllegalArgumentException(
                (tasks == null ? "its worker task types name" : "--tasks names")
                    + " '"
                    + type
                    + "', which it does not have; it has "
                    + catalog.names());
          }
        }
        builder.workers(WorkerGroup.of(workers, served, concurrency));
      }
    } catch (IllegalArgumentException | ConfigException e) {
      System.err.println(
          "node refuses to start: plugin " + tasksAndJob.name() + ": " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    ProverNode node = builder.start();
    String self = ProverNode.hostPort(Cluster.get(node.system()).selfMember().address());
    // before the line that says the node is up: a SIGTERM after it exits 0 (one during start-up
    // exits 143, and so does one that cuts an --exit-when-done job short)
    NodeExit exit = new NodeExit(node, self);
    // started, not yet joined: the log says "is Up in the cluster of N member(s)" once it has, and
    // every 5 s what it waits for until then (a wrong seed, CA or cluster name)
    System.out.printf(
        "node %s started with roles %s, plugin %s%n", self, roles, tasksAndJob.name());
    System.out.println(node.endpointsLine());
    IslandWatch.startProbe(node.system()); // how this node stands, for a worker node elsewhere
    // a worker node on an island rejoins; so does a stateful one beside a larger cluster
    IslandWatch.start(node.system(), islandAfter);
    if (!sequencer) {
      SequencerWatch.start(node.system(), watch); // one line when no sequencer node is left
      return exit.awaitTermination();
    }
    // worker nodes joining and leaving, from before the job to the node's end: a service job runs
    // until then, and a subscription started after it would start as the node shuts down
    WorkerNodeEvents.startForNode(node.system(), System.out::println);
    ProverPlugin.Job job = sequencerJob;
    CompletableFuture<ProverPlugin.Outcome> run = new CompletableFuture<>();
    if (!this.job.service) { // a service job runs until the node stops, by design
      // in the shutdown, not after it: a signal's exit does not wait for this thread
      CoordinatedShutdown.get(node.system())
          .addTask(
              CoordinatedShutdown.PhaseBeforeClusterShutdown(),
              "say-the-job-did-not-finish",
              () -> {
                // not on a standby, whose job goes on on the sequencer's node; a job that failed
                // as its node began to stop was cut short too (one that failed on its own has had
                // its line and exit code already: the launcher stops the node itself)
                boolean cutShort = NodeExit.jobCutShort(run, exit.launcherStops());
                if (cutShort && exitWhenDone && !node.standingBy()) {
                  exit.jobUnfinished(); // a signal now exits with its code, not 0
                }
                if (cutShort && !node.standingBy()) {
                  System.out.println(
                      ProgressLineClearer.eraseBar()
                          + NodeExit.jobUnfinishedLine(self, tasksAndJob.name(), durable));
                  System.out.flush();
                }
                return CompletableFuture.completedFuture(Done.getInstance());
              });
    }
    Thread jobThread =
        new Thread(
            () -> {
              try {
                run.complete(job.run(node, System.out));
              } catch (Throwable e) {
                run.completeExceptionally(e);
              }
            },
            tasksAndJob.name() + "-job");
    jobThread.setDaemon(true); // a job whose actor system is gone must not keep the JVM alive
    // the appchain's job says what it waits for itself (JobProgress); another plugin's is told here
    PluginJobWait pluginWait =
        tasksAndJob instanceof AppchainPlugin
            ? null
            : PluginJobWait.start(node, System.out, tasksAndJob.name());
    jobThread.start();
    // The job waits on flows of this node's actor system: wait on either, so that a downed node
    // exits.
    CompletableFuture.anyOf(run, exit.terminated()).exceptionally(e -> null).join();
    if (pluginWait != null) {
      pluginWait.close(run.isDone() && !run.isCompletedExceptionally());
    }
    if (!run.isDone()) {
      return exit.awaitTermination();
    }
    if (run.isCompletedExceptionally() && exit.stopping()) {
      // it failed because its actor system went away under it (downed, say): the system's end
      // decides the code
      return exit.awaitTermination();
    }
    if (run.isCompletedExceptionally()) { // the job's own failure, e.g. a flow that failed
      Throwable failure = run.handle((outcome, e) -> e).join();
      String line = NodeExit.jobFailureLine(self, tasksAndJob.name(), failure, exit.joined());
      org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeLauncher.class);
      if (NodeExit.worthATrace(failure)) {
        log.error(line, failure);
      } else {
        log.error(line);
      }
      // the launcher's own exit: not to be taken for Pekko's after a fatal error
      exit.askedFor();
      node.close();
      NodeExit.Outcome failed = NodeExit.jobFailed(self, tasksAndJob.name(), exit.joined());
      System.err.println(failed.line());
      return failed.code();
    }
    ProverPlugin.Outcome summary = run.join();
    String text = summary.summary() == null ? "" : summary.summary();
    // a summary without its last line break (a trial's) would run into the shell's prompt
    System.out.print(text.isEmpty() || text.endsWith("\n") ? text : text + System.lineSeparator());
    System.out.flush();
    if (exitWhenDone) {
      exit.askedFor();
      node.close();
      return summary.ok() ? 0 : 1;
    }
    return exit.awaitTermination(); // the node stays in the cluster until it is stopped or downed
  }
}
