package dev.pekkoprover.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The harness's command line, read once: which workloads, in which deployment, how big, how many
 * runs. Defaults are the baseline's sizes (BullMQ's bench.mjs), so that a bare run compares like
 * with like.
 *
 * @param workloads workload names in run order
 * @param deployment {@code jvm} (everything in this JVM) or {@code cluster} (worker in another
 *     process)
 * @param runs measured runs per measurement, reported as median [min..max]; -1 means each
 *     workload's own default
 * @param warmup unreported runs before them (JIT warm-up); -1 means each workload's own default
 * @param jitQuietMaxSeconds after those, further warm-up runs until the JIT compilers are quiet
 *     ({@link WorkloadFamily#warmUp}), for at most this many seconds; 0: the fixed warm-up only
 * @param tasks no-op tasks per throughput run (baseline: 20,000)
 * @param conc worker concurrencies for throughput (baseline: 1, 8, 64)
 * @param latTasks tasks per latency run (baseline: 2,000)
 * @param rate paced latency: tasks per second, open loop (baseline: 200)
 * @param latConc worker concurrencies for paced latency (baseline: 1, 8); sequential uses the first
 * @param trees trees per run (baseline: 10 "blocks")
 * @param leaves leaves per tree (baseline: 64)
 * @param treeConc worker concurrency for trees (baseline: 8)
 * @param workMs simulated compute times per task in the scheduling workload, one measurement each
 * @param workers workers of the fleet start-up workload
 * @param pending tasks of the pending-heap workload
 * @param conf extra HOCON for every node (e.g. a dispatcher setting to try), or empty; several
 *     --conf join, the later winning
 * @param histogram print the heap's top classes (a class histogram) in the heap workloads, as
 *     comment lines
 * @param journal the sequencer's durability: none (in memory), h2 or postgres ({@link Journal})
 * @param dbUrl PostgreSQL JDBC URL for {@code --journal postgres}, or null (then
 *     PROVER_TEST_DB_URL)
 * @param dbUser its user, or null (then PROVER_TEST_DB_USER)
 * @param dbPassword its password, or null (then PROVER_TEST_DB_PASSWORD)
 */
public record Options(
    List<String> workloads,
    String deployment,
    int runs,
    int warmup,
    int jitQuietMaxSeconds,
    int tasks,
    List<Integer> conc,
    int latTasks,
    int rate,
    List<Integer> latConc,
    int trees,
    int leaves,
    int treeConc,
    List<Double> workMs,
    int workers,
    int pending,
    String conf,
    boolean histogram,
    String journal,
    String dbUrl,
    String dbUser,
    String dbPassword) {

  /**
   * Workloads run by {@code all}; the heap workloads want a JVM of their own and a fixed -Xmx, so
   * they are apart.
   */
  public static final List<String> ALL =
      List.of("throughput", "latency", "tree", "sched", "fleet", "join");

  public static final List<String> KNOWN =
      List.of(
          "throughput", "latency", "tree", "sched", "fleet", "join", "idle-heap", "pending-heap");

  public static final String USAGE =
      """
      usage: java -jar bench/target/bench.jar [WORKLOAD...] [options]
        workloads: throughput latency tree sched fleet join idle-heap pending-heap | all (= the first six)
                   | memory (= idle-heap pending-heap; run it in a JVM of its own with a fixed -Xmx)
        --deployment jvm|cluster   jvm: one JVM; cluster: worker in another process (default jvm)
        --tls on|off               cluster: mutual TLS between the nodes as shipped, with a key set made per run
                                   (default on), or plain TCP (off), to compare
        --runs N                   measured runs per measurement (default: per workload, 3 to 10)
        --warmup N                 unreported warm-up runs (default: per workload)
        --jit-quiet-max-s N        then more warm-up runs until the JIT compilers of this JVM and the worker
                                   processes use under 5% of a core, for at most N s (default 60; 0: off)
        --tasks N --conc 1,8,64    throughput workload
        --lat-tasks N --rate R --lat-conc 1,8   latency workloads
        --trees N --leaves N --tree-conc N      tree and sched workloads
        --work-ms X[,Y]            simulated compute time per task in sched, ms (default 10,50)
        --workers N                fleet start-up (default 100)
        --pending N                pending-heap (default 1000000)
        --conf HOCON               extra settings for every node (repeatable; a later one wins), e.g.
                                   'prover.metrics.enabled = off' (every meter a no-op; the worker process too)
        --journal none|h2|postgres the sequencer's durability (default none: in memory). h2: H2 in a file of a
                                   fresh temporary directory, as `prover run` does; postgres: as a cluster's
                                   sequencer node does. Only throughput, tree and sched; inputs salted per run
        --db-url URL --db-user U --db-password P   PostgreSQL for --journal postgres (default: the environment's
                                   PROVER_TEST_DB_URL, PROVER_TEST_DB_USER, PROVER_TEST_DB_PASSWORD)
        --histogram                heap workloads: also print the top classes on the heap
        --quick                    tiny sizes, one run, no warm-up, no wait for the JIT (smoke test)
      """;

  /**
   * {@code --tls off}: plain TCP between the bench cluster's nodes (an override in {@code --conf}'s
   * text).
   */
  private static String withTls(String conf, String value) {
    return switch (value) {
      case "on" -> conf;
      case "off" ->
          conf.isBlank()
              ? "pekko.remote.artery.transport = tcp"
              : conf + "\npekko.remote.artery.transport = tcp";
      default -> throw new IllegalArgumentException("--tls must be on or off, was " + value);
    };
  }

  public static Options parse(String... args) {
    Set<String> workloads = new LinkedHashSet<>();
    String deployment = "jvm";
    int runs = -1;
    int warmup = -1;
    int jitQuietMaxSeconds = 60;
    int tasks = 20_000;
    List<Integer> conc = List.of(1, 8, 64);
    int latTasks = 2_000;
    int rate = 200;
    List<Integer> latConc = List.of(1, 8);
    int trees = 10;
    int leaves = 64;
    int treeConc = 8;
    List<Double> workMs = List.of(10.0, 50.0);
    int workers = 100;
    int pending = 1_000_000;
    String conf = "";
    boolean quick = false;
    boolean histogram = false;
    String journal = "none";
    String dbUrl = null;
    String dbUser = null;
    String dbPassword = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (!arg.startsWith("--")) {
        for (String name : arg.split(",")) {
          addWorkload(workloads, name.trim());
        }
        continue;
      }
      if (arg.equals("--quick")) {
        quick = true;
        continue;
      }
      if (arg.equals("--histogram")) {
        histogram = true;
        continue;
      }
      if (arg.equals("--help")) {
        throw new IllegalArgumentException("help");
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(arg + " needs a value");
      }
      String value = args[++i];
      switch (arg) {
        case "--deployment" -> deployment = value;
        case "--tls" -> conf = withTls(conf, value);
        case "--runs" -> runs = positive(arg, value);
        case "--warmup" -> warmup = Integer.parseInt(value);
        case "--jit-quiet-max-s" -> jitQuietMaxSeconds = Integer.parseInt(value);
        case "--tasks" -> tasks = positive(arg, value);
        case "--conc" -> conc = ints(arg, value);
        case "--lat-tasks" -> latTasks = positive(arg, value);
        case "--rate" -> rate = positive(arg, value);
        case "--lat-conc" -> latConc = ints(arg, value);
        case "--trees" -> trees = positive(arg, value);
        case "--leaves" -> leaves = positive(arg, value);
        case "--tree-conc" -> treeConc = positive(arg, value);
        case "--work-ms" -> workMs = doubles(arg, value);
        case "--workers" -> workers = positive(arg, value);
        case "--pending" -> pending = positive(arg, value);
        case "--conf" -> conf = conf.isBlank() ? value : conf + "\n" + value;
        case "--journal" -> journal = value;
        case "--db-url" -> dbUrl = value;
        case "--db-user" -> dbUser = value;
        case "--db-password" -> dbPassword = value;
        default -> throw new IllegalArgumentException("unknown option " + arg);
      }
    }
    if (!deployment.equals("jvm") && !deployment.equals("cluster")) {
      throw new IllegalArgumentException("--deployment must be jvm or cluster, was " + deployment);
    }
    if (!List.of("none", "h2", "postgres").contains(journal)) {
      throw new IllegalArgumentException("--journal must be none, h2 or postgres, was " + journal);
    }
    if (workloads.isEmpty()) {
      workloads.addAll(ALL);
    }
    if (quick) {
      runs = 1;
      warmup = 0;
      jitQuietMaxSeconds = 0;
      tasks = Math.min(tasks, 500);
      latTasks = Math.min(latTasks, 50);
      rate = Math.max(rate, 500);
      trees = Math.min(trees, 2);
      leaves = Math.min(leaves, 8);
      treeConc = Math.min(treeConc, 4);
      workMs = workMs.stream().map(ms -> Math.min(ms, 2.0)).distinct().toList();
      workers = Math.min(workers, 5);
      pending = Math.min(pending, 10_000);
    }
    return new Options(
        List.copyOf(workloads),
        deployment,
        runs,
        warmup,
        jitQuietMaxSeconds,
        tasks,
        conc,
        latTasks,
        rate,
        latConc,
        trees,
        leaves,
        treeConc,
        workMs,
        workers,
        pending,
        conf,
        histogram,
        journal,
        dbUrl,
        dbUser,
        dbPassword);
  }

  /** The measured runs of a workload: the --runs flag if given, else the workload's own default. */
  public int runsOr(int workloadDefault) {
    return runs > 0 ? runs : workloadDefault;
  }

  /**
   * The warm-up runs of a workload: the --warmup flag if given, else the workload's own default.
   */
  public int warmupOr(int workloadDefault) {
    return warmup >= 0 ? warmup : workloadDefault;
  }

  private static void addWorkload(Set<String> workloads, String name) {
    switch (name) {
      case "" -> {}
      case "all" -> workloads.addAll(ALL);
      case "memory" -> workloads.addAll(List.of("idle-heap", "pending-heap"));
      default -> {
        if (!KNOWN.contains(name)) {
          throw new IllegalArgumentException("unknown workload '" + name + "'; known: " + KNOWN);
        }
        workloads.add(name);
      }
    }
  }

  private static int positive(String option, String value) {
    int n = Integer.parseInt(value);
    if (n < 1) {
      throw new IllegalArgumentException(option + " must be at least 1, was " + value);
    }
    return n;
  }

  private static List<Double> doubles(String option, String value) {
    List<Double> values = new ArrayList<>();
    for (String part : value.split(",")) {
      double ms = Double.parseDouble(part.trim());
      if (!(ms > 0)) {
        throw new IllegalArgumentException(option + " values must be positive, was " + part);
      }
      values.add(ms);
    }
    return List.copyOf(values);
  }

  private static List<Integer> ints(String option, String value) {
    List<Integer> values = new ArrayList<>();
    for (String part : value.split(",")) {
      values.add(positive(option, part.trim()));
    }
    return List.copyOf(values);
  }
}
