package dev.pekkoprover.bench;

import dev.pekkoprover.bench.BenchTasks.Merge;
import dev.pekkoprover.bench.BenchTasks.Work;
import dev.pekkoprover.bench.Deployment.BenchNode;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The workloads, each the same as the BullMQ baseline's where the baseline has one. Every workload
 * prints one line per measurement ({@link Line}); warm-up runs are not reported, measured runs are
 * summarised as median [min..max], and each measured run is also echoed as a {@code #} comment line
 * with its raw figures.
 */
final class Workloads {
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private final Options options;
  private final BenchConfig config;
  private final Deployment deployment;
  private final Consumer<String> out;

  Workloads(Options options, BenchConfig config, Deployment deployment, Consumer<String> out) {
    this.options = options;
    this.config = config;
    this.deployment = deployment;
    this.out = out;
  }

  /**
   * Runs one workload by name; a failure is printed as an {@code error=} line and returned as
   * false.
   */
  boolean run(String workload) {
    try {
      if (deployment.journal().durable() && !DURABLE_WORKLOADS.contains(workload)) {
        skippedLine(
            Line.ours(workload)
                .tag("deployment", deployment.name())
                .tag("journal", deployment.journal().name()),
            new WorkloadSkipped(
                "not_measured_with_a_journal(only_" + String.join(",", DURABLE_WORKLOADS) + ")"));
        return true;
      }
      switch (workload) {
        case "throughput" -> throughput();
        case "latency" -> latency();
        case "tree" -> {
          tree(0, "flow");
          tree(0, "pairs");
        }
        case "sched" -> {
          for (double workMs : options.workMs()) {
            tree(workMs, "flow");
            tree(workMs, "pairs");
          }
        }
        case "fleet" -> fleet();
        case "join" -> join();
        case "idle-heap" -> idleHeap();
        case "pending-heap" -> pendingHeap();
        default -> throw new IllegalArgumentException("unknown workload " + workload);
      }
      return true;
    } catch (Exception | AssertionError e) {
      out.accept(
          Line.ours(workload)
              .tag("deployment", deployment.name())
              .tag("error", String.valueOf(e))
              .toString());
      e.printStackTrace();
      return false;
    }
  }

  /**
   * The workloads that measure a durable sequencer ({@code --journal h2|postgres}): their inputs
   * are salted.
   */
  static final List<String> DURABLE_WORKLOADS = List.of("throughput", "tree", "sched");

  /** Runs so far that took a salt: see {@link #salt()}. */
  private long salted;

  /**
   * The sequence number base of one run's inputs ({@link BenchTasks#works(int, long, long)}). With
   * a journal, results are stored by content, so every run (warm-up, measured, each tree) gets
   * inputs no other run of the node had: base = run number x 2^24 (a run has fewer tasks; a tree's
   * merge inputs, sums of leaf values, then differ too). Without one, 0: the inputs are as they
   * always were.
   */
  private long salt() {
    return deployment.journal().durable() ? (++salted) << 24 : 0;
  }

  /**
   * A flow's name: with a journal, one of its own per run (a completed name's stored outcome would
   * answer at once).
   */
  private String flowName(String name, long salt) {
    return deployment.journal().durable() ? name + "-" + (salt >> 24) : name;
  }

  /** Results the node's result store has written (durability on), 0 without one. */
  private static long storedResults(ProverNode node) {
    ProvingOrchestrator.StoreStats stats = Harness.await(node.storeStats(), 10);
    return stats.writer() == null ? 0 : stats.writer().results();
  }

  /**
   * Tags what the node measured really ran with: its journal, whether its meters are on ({@code
   * prover.metrics.enabled}, as the node's actor system has it) and, across processes, whether its
   * transport is mutual TLS ({@code tls=on}: Artery's {@code tls-tcp}, as shipped) or plain TCP
   * ({@code tls=off}).
   */
  private Line setup(Line line, ProverNode node) {
    Line tagged =
        line.tag("journal", deployment.journal().name())
            .tag("metrics", ProverMetrics.get(node.system()).enabled() ? "on" : "off");
    if (!(deployment instanceof ClusterDeployment)) {
      return tagged;
    }
    String transport = node.system().settings().config().getString("pekko.remote.artery.transport");
    return tagged.tag("tls", transport.equals("tls-tcp") ? "on" : "off");
  }

  /**
   * With a journal: checks that the measured runs' results were all written to the store (so the
   * figure is not an in-memory one) and adds the store's counters to the line; {@code stored}
   * results written over the measured runs.
   */
  private Line storeCheck(Line line, ProverNode node, long before, long expected) {
    if (!deployment.journal().durable()) {
      return line;
    }
    ProvingOrchestrator.StoreStats stats = Harness.await(node.storeStats(), 10);
    check(
        stats.writer() != null,
        "journal " + deployment.journal().name() + " but the node has no result store");
    long stored = stats.writer().results() - before;
    check(
        stored == expected,
        "the result store wrote "
            + stored
            + " results over the measured runs, expected "
            + expected);
    return line.tag("stored", stored)
        .tag("store_writes", stats.writer().writes())
        .tag("store_batch_max", stats.writer().largestBatch())
        .tag("store_write_mean_us", stats.writer().meanWriteMicros())
        .tag("store_write_max_us", stats.writer().maxWriteMicros())
        .tag("store_failed_writes", stats.writer().failedWrites());
  }

  // ---------------------------------------------------------------- throughput

  /**
   * 20,000 no-op tasks added in bulk by one flow, one worker at concurrency c: first enqueue to
   * last result.
   */
  private void throughput() throws Exception {
    int n = options.tasks();
    for (int c : options.conc()) {
      Line line =
          Line.ours("throughput").tag("c", c).tag("deployment", deployment.name()).tag("tasks", n);
      try (BenchNode bench = deployment.start("tp-c" + c, WorkerGroup.allTypes(1, c))) {
        setup(line, bench.node());
        long storedBefore = 0;
        // across processes a run takes 1-15 s instead of 0.1 s: fewer runs still warm the paths and
        // keep the spread
        boolean acrossProcesses = deployment instanceof ClusterDeployment;
        int runs = options.runsOr(acrossProcesses ? 5 : 10);
        int warmup = options.warmupOr(acrossProcesses ? 3 : 10);
        double[] perSecond = new double[runs];
        double[] endToEnd = new double[runs];
        CpuMeter series = new CpuMeter();
        for (int r = -warmup; r < runs; r++) {
          long salt = salt();
          BenchFlows.Bulk flow = new BenchFlows.Bulk(BenchTasks.works(n, 0, salt));
          if (r == 0) {
            storedBefore = storedResults(bench.node());
            series
                .start(); // CPU over all measured runs: a single short run is below /proc/stat's 10
            // ms resolution
          }
          long submitted = System.nanoTime();
          FlowResult.Completed done =
              Harness.await(bench.node().runWithStats(flowName("throughput", salt), flow), 300);
          long returned = System.nanoTime();
          check(
              done.result().equals((long) n),
              "throughput flow completed with " + done.result() + " results");
          check(done.stats().duplicates() == 0, "duplicates: " + done.stats().duplicates());
          check(
              done.stats().reused() == 0,
              done.stats().reused() + " tasks answered from the store, not run");
          double seconds = (flow.lastResultNanos - flow.firstEnqueueNanos) / 1e9;
          if (r >= 0) {
            perSecond[r] = n / seconds;
            endToEnd[r] = n / ((returned - submitted) / 1e9);
            comment(
                Line.ours("throughput")
                    .tag("run", r + 1)
                    .tag("c", c)
                    .value("tasks_per_s", perSecond[r], 0)
                    .value("wall_s", seconds, 4));
          }
        }
        double[] load = series.stop();
        storeCheck(line, bench.node(), storedBefore, (long) runs * n);
        out.accept(
            cpu(
                    line.spread("tasks_per_s", perSecond, 0)
                        .value("e2e_tasks_per_s", Line.median(endToEnd), 0)
                        .tag("runs", runs),
                    load)
                .toString());
      } catch (WorkloadSkipped skipped) {
        skippedLine(line, skipped);
      }
    }
  }

  // ---------------------------------------------------------------- latency

  private void latency() throws Exception {
    sequentialLatency(options.latConc().get(0));
    for (int c : options.latConc()) {
      pacedLatency(c);
    }
  }

  /** 2,000 tasks one at a time from one flow: push to result, at the flow. */
  private void sequentialLatency(int c) throws Exception {
    int n = options.latTasks();
    Line line =
        Line.ours("latency")
            .tag("mode", "sequential")
            .tag("c", c)
            .tag("deployment", deployment.name())
            .tag("tasks", n);
    try (BenchNode bench = deployment.start("lat-seq-c" + c, WorkerGroup.allTypes(1, c))) {
      setup(line, bench.node());
      int runs = options.runsOr(5);
      int warmup = options.warmupOr(3);
      LatencyRuns results = new LatencyRuns(runs);
      CpuMeter series = new CpuMeter();
      for (int r = -warmup; r < runs; r++) {
        BenchFlows.Sequential flow = new BenchFlows.Sequential(BenchTasks.works(n, 0));
        if (r == 0) {
          series.start();
        }
        Harness.await(bench.node().run("latency", flow), 120);
        if (r >= 0) {
          results.add(r, flow.latencyNanos);
          comment(
              results.runLine(
                  r, Line.ours("latency").tag("run", r + 1).tag("mode", "sequential").tag("c", c)));
        }
      }
      out.accept(results.summary(line, series.stop()).toString());
    } catch (WorkloadSkipped skipped) {
      skippedLine(line, skipped);
    }
  }

  /**
   * 2,000 tasks at a fixed rate, open loop: each task is its own small flow started through the
   * sequencer ({@code ProverNode.run}), because a flow's logic can only push from its own
   * callbacks; a pacing thread starts one every 1/rate seconds whether or not earlier ones are
   * done. Latency: submit to result, at the flow.
   */
  private void pacedLatency(int c) throws Exception {
    int n = options.latTasks();
    int rate = options.rate();
    Line line =
        Line.ours("latency")
            .tag("mode", "paced")
            .tag("rate", rate)
            .tag("c", c)
            .tag("deployment", deployment.name())
            .tag("tasks", n);
    try (BenchNode bench = deployment.start("lat-paced-c" + c, WorkerGroup.allTypes(1, c))) {
      setup(line, bench.node());
      int runs = options.runsOr(3);
      int warmup = options.warmupOr(1);
      LatencyRuns results = new LatencyRuns(runs);
      LatencyRuns fromPush = new LatencyRuns(runs);
      CpuMeter series = new CpuMeter();
      double[] achieved = new double[runs];
      double[] lateMax = new double[runs];
      for (int r = -warmup; r < runs; r++) {
        // a warm-up run is a quarter as long: it only has to compile the paths
        int tasks = r < 0 ? Math.max(1, n / 4) : n;
        List<Work> inputs = BenchTasks.works(tasks, 0);
        long[] latencies = new long[tasks];
        long[] pushed = new long[tasks];
        Arrays.fill(latencies, -1);
        List<CompletableFuture<Long>> flows = new ArrayList<>(tasks);
        long period = TimeUnit.SECONDS.toNanos(1) / rate;
        if (r == 0) {
          series.start();
        }
        long start = System.nanoTime();
        long late = 0;
        for (int i = 0; i < tasks; i++) {
          long target = start + i * period;
          long wait;
          while ((wait = target - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
          }
          long now = System.nanoTime();
          late = Math.max(late, now - target);
          flows.add(
              bench
                  .node()
                  .run(
                      "paced",
                      BenchFlows.single(BenchTasks.NOOP, inputs.get(i), now, latencies, pushed, i))
                  .toCompletableFuture());
        }
        int timeouts = 0;
        for (CompletableFuture<Long> flow : flows) {
          try {
            flow.get(60, TimeUnit.SECONDS);
          } catch (java.util.concurrent.TimeoutException e) {
            timeouts++;
          }
        }
        long end = System.nanoTime();
        check(timeouts == 0, timeouts + " paced flows did not complete within 60 s");
        if (r >= 0) {
          results.add(r, latencies);
          fromPush.add(r, pushed);
          achieved[r] = tasks / ((end - start) / 1e9);
          lateMax[r] = late / 1e6;
          comment(
              results
                  .runLine(
                      r, Line.ours("latency").tag("run", r + 1).tag("mode", "paced").tag("c", c))
                  .value("achieved_rate", achieved[r], 0)
                  .value("pacing_late_max_ms", lateMax[r], 3));
        }
      }
      // push_*: from the flow's push, i.e. without starting the flow through the sequencer
      out.accept(
          results
              .summary(line, series.stop())
              .value("push_p50_ms", Line.median(fromPush.p50), 4)
              .value("push_p99_ms", Line.median(fromPush.p99), 4)
              .value("achieved_rate", Line.median(achieved), 0)
              .value("pacing_late_max_ms", Line.max(lateMax), 3)
              .toString());
    } catch (WorkloadSkipped skipped) {
      skippedLine(line, skipped);
    }
  }

  /** Latency percentiles per run and their summary across runs. */
  private static final class LatencyRuns {
    private final double[] p50;
    private final double[] p90;
    private final double[] p99;
    private final double[] max;
    private final double[] mean;

    LatencyRuns(int runs) {
      p50 = new double[runs];
      p90 = new double[runs];
      p99 = new double[runs];
      max = new double[runs];
      mean = new double[runs];
    }

    void add(int run, long[] latencyNanos) {
      Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(120), 3);
      for (long nanos : latencyNanos) {
        if (nanos < 0) {
          throw new AssertionError("a task has no latency recorded");
        }
        histogram.recordValue(Math.max(1, nanos));
      }
      p50[run] = histogram.getValueAtPercentile(50) / 1e6;
      p90[run] = histogram.getValueAtPercentile(90) / 1e6;
      p99[run] = histogram.getValueAtPercentile(99) / 1e6;
      max[run] = histogram.getMaxValue() / 1e6;
      mean[run] = histogram.getMean() / 1e6;
    }

    Line runLine(int r, Line line) {
      return line.value("p50_ms", p50[r], 4)
          .value("p90_ms", p90[r], 4)
          .value("p99_ms", p99[r], 4)
          .value("max_ms", max[r], 3);
    }

    /**
     * The summary line; {@code load} is [this JVM's CPU %, everything else's] over all measured
     * runs.
     */
    Line summary(Line line, double[] load) {
      return cpu(
          line.spread("p50_ms", p50, 4)
              .spread("p90_ms", p90, 4)
              .spread("p99_ms", p99, 4)
              .spread("max_ms", max, 3)
              .value("mean_ms", Line.median(mean), 4)
              .tag("runs", p50.length),
          load);
    }
  }

  // ---------------------------------------------------------------- trees

  /**
   * 64 leaves, then 63 pairwise merges, one worker at concurrency 8; submit to root, at the flow.
   * {@code mode=flow}: the framework's own tree, {@link FanOutReduce} (leaf and merge are two task
   * types; each merge as soon as two adjacent ranges are in). {@code mode=pairs}: the baseline's
   * algorithm ({@link BenchFlows.Pairs}: one task type, balanced pairs). {@code workMs > 0}: every
   * task takes that simulated time, and the makespan is compared with the optimal schedule's
   * ({@link IdealSchedule}).
   */
  private void tree(double workMs, String mode) throws Exception {
    boolean timed = workMs > 0;
    int leaves = options.leaves();
    int c = options.treeConc();
    int trees = options.trees();
    long workNanos = BenchTasks.millisToNanos(workMs);
    String kind = timed ? "sched" : "tree";
    Line line =
        Line.ours(kind)
            .tag("mode", mode)
            .tag("c", c)
            .tag("leaves", leaves)
            .tag("deployment", deployment.name())
            .tag("tasks", IdealSchedule.tasks(leaves))
            .tag("trees", trees);
    if (timed) {
      line.value("work_ms", workMs, 2);
    }
    if (mode.equals("pairs") && Integer.bitCount(leaves) != 1) {
      skippedLine(line, new WorkloadSkipped("the_pairs_tree_needs_a_power_of_two_of_leaves"));
      return;
    }
    try (BenchNode bench =
        deployment.start(kind + "-" + mode + "-c" + c, WorkerGroup.allTypes(1, c))) {
      setup(line, bench.node());
      long storedBefore = 0;
      int runs = options.runsOr(timed ? 3 : 5);
      int warmup = options.warmupOr(timed ? 1 : 5);
      double[] medians = new double[runs];
      double[] mins = new double[runs];
      double[] maxs = new double[runs];
      double[] meanTaskMs = new double[runs];
      CpuMeter series = new CpuMeter();
      long expectedRoot = (long) leaves * (leaves - 1) / 2;
      for (int r = -warmup; r < runs; r++) {
        double[] times = new double[trees];
        if (r == 0) {
          storedBefore = storedResults(bench.node());
          series.start();
        }
        BenchTasks.takeMeanTimedNanos();
        for (int t = 0; t < trees; t++) {
          long salt =
              salt(); // each tree its own inputs: leaf i is salt + i, so its root is leaves x salt
          // more
          FlowLogic<Long> reduce =
              mode.equals("pairs")
                  ? new BenchFlows.Pairs(
                      timed ? BenchTasks.TIMED_NODE : BenchTasks.NOOP_NODE, leaves, workNanos, salt)
                  : new FanOutReduce<>(
                      timed ? BenchTasks.TIMED : BenchTasks.NOOP,
                      BenchTasks.works(leaves, workNanos, salt),
                      timed ? BenchTasks.TIMED_MERGE : BenchTasks.NOOP_MERGE,
                      (Long left, Long right) -> new Merge(left, right, workNanos));
          BenchFlows.Timed<Long> flow = new BenchFlows.Timed<>(reduce);
          long submitted = System.nanoTime();
          FlowResult.Completed done =
              Harness.await(bench.node().runWithStats(flowName(kind, salt), flow), 120);
          long root = (Long) done.result();
          check(
              root == expectedRoot + leaves * salt,
              "tree root " + root + ", expected " + (expectedRoot + leaves * salt));
          check(
              done.stats().reused() == 0,
              done.stats().reused() + " tasks answered from the store, not run");
          times[t] = (flow.completedNanos - submitted) / 1e6;
        }
        double meanTask = BenchTasks.takeMeanTimedNanos() / 1e6;
        if (r >= 0) {
          medians[r] = Line.median(times);
          mins[r] = Line.min(times);
          maxs[r] = Line.max(times);
          meanTaskMs[r] = meanTask;
          comment(
              Line.ours(kind)
                  .tag("run", r + 1)
                  .tag("mode", mode)
                  .tag("c", c)
                  .value("median_ms", medians[r], 3)
                  .value("min_ms", mins[r], 3)
                  .value("max_ms", maxs[r], 3));
        }
      }
      double median = Line.median(medians);
      line.spread("median_ms", medians, 3)
          .value("min_ms", Line.min(mins), 3)
          .value("max_ms", Line.max(maxs), 3)
          .value("tasks_per_s", IdealSchedule.tasks(leaves) / (median / 1000), 0);
      if (timed) {
        int steps = IdealSchedule.optimalSteps(leaves, c);
        double ideal = steps * workMs;
        double idealMeasured = steps * Line.median(meanTaskMs);
        line.tag("ideal_steps", steps)
            .value("ideal_ms", ideal, 3)
            .value("ratio", median / ideal, 4)
            .value("task_ms_measured", Line.median(meanTaskMs), 4)
            .value("ideal_measured_ms", idealMeasured, 3)
            .value("ratio_measured", median / idealMeasured, 4)
            .value("simple_bound_ms", IdealSchedule.simpleBound(leaves, c) * workMs, 3);
      }
      double[] load = series.stop();
      storeCheck(
          line, bench.node(), storedBefore, (long) runs * trees * IdealSchedule.tasks(leaves));
      out.accept(cpu(line.tag("runs", runs), load).toString());
    } catch (WorkloadSkipped skipped) {
      skippedLine(line, skipped);
    }
  }

  // ---------------------------------------------------------------- start-up

  /**
   * 100 workers in one JVM, all starting at once with the node; they register one after another
   * through the registration loop. Time from the node's actors being spawned to every worker Ready
   * ({@code ready_ms}), and including the actor system's own start ({@code with_system_ms}).
   */
  private void fleet() throws Exception {
    int workers = options.workers();
    Line line = Line.ours("fleet").tag("workers", workers).tag("deployment", deployment.name());
    if (!deployment.name().equals("jvm")) {
      skippedLine(line, new WorkloadSkipped("a_one-JVM_workload(the_cluster_case_is_join)"));
      return;
    }
    int runs = options.runsOr(5);
    int warmup = options.warmupOr(3);
    double[] ready = new double[runs];
    double[] withSystem = new double[runs];
    CpuMeter series = new CpuMeter();
    for (int r = -warmup; r < runs; r++) {
      if (r == 0) {
        series.start();
      }
      long t0 = System.nanoTime();
      ProverNode node =
          JvmDeployment.builder(config, "fleet").workers(WorkerGroup.allTypes(workers, 1)).start();
      long spawned = System.nanoTime();
      try {
        Harness.await(node.ready(), 60);
        long allReady = System.nanoTime();
        int registered = Harness.await(node.registrationStatus(), 10).registrations();
        check(registered == workers, registered + " workers registered, expected " + workers);
        if (r >= 0) {
          ready[r] = (allReady - spawned) / 1e6;
          withSystem[r] = (allReady - t0) / 1e6;
          comment(
              Line.ours("fleet")
                  .tag("run", r + 1)
                  .value("ready_ms", ready[r], 2)
                  .value("with_system_ms", withSystem[r], 2));
        }
      } finally {
        node.close();
      }
    }
    double[] load = series.stop();
    out.accept(
        cpu(
                line.spread("ready_ms", ready, 2)
                    .spread("with_system_ms", withSystem, 2)
                    .tag("runs", runs),
                load)
            .toString());
  }

  /**
   * A worker joining a running node. In one JVM ({@code deployment=jvm}) the analogue: {@code
   * addWorker} to that worker Ready (it registers through the loop like any newcomer). Across
   * processes: member Up to worker Ready.
   */
  private void join() throws Exception {
    Line line = Line.ours("join").tag("deployment", deployment.name());
    if (deployment instanceof ClusterDeployment cluster) {
      clusterJoin(cluster, line.tag("from", "member_up"));
      return;
    }
    line.tag("from", "add_worker");
    try (BenchNode bench = deployment.start("join", WorkerGroup.allTypes(1, 1))) {
      ProverNode node = bench.node();
      Map<String, CompletableFuture<Long>> readyAt = new ConcurrentHashMap<>();
      ActorRef<WorkerStateChanged> listener =
          node.system()
              .systemActorOf(
                  Behaviors.receive(WorkerStateChanged.class)
                      .onMessage(
                          WorkerStateChanged.class,
                          changed -> {
                            if (changed.state() == WorkerState.READY) {
                              readyAt
                                  .computeIfAbsent(
                                      changed.workerId(), id -> new CompletableFuture<>())
                                  .complete(System.nanoTime());
                            }
                            return Behaviors.same();
                          })
                      .build(),
                  "bench-ready-listener",
                  Props.empty());
      node.system()
          .eventStream()
          .tell(new EventStream.Subscribe<>(WorkerStateChanged.class, listener));
      // the subscription is in place once a marker published after it comes back
      String marker = "subscribed-" + UUID.randomUUID();
      node.system()
          .eventStream()
          .tell(new EventStream.Publish<>(new WorkerStateChanged(marker, "-", WorkerState.READY)));
      Harness.await(readyAt.computeIfAbsent(marker, id -> new CompletableFuture<>()), 10);

      int runs = options.runsOr(10);
      int warmup = options.warmupOr(5);
      double[] ready = new double[runs];
      CpuMeter series = new CpuMeter();
      for (int r = -warmup; r < runs; r++) {
        if (r == 0) {
          series.start();
        }
        long t0 = System.nanoTime();
        // the joined workers stay (idle, Ready): stopping them would only add the queue's clean-up
        // to the next run
        String workerId = Harness.await(node.addWorker(List.of(), 1), 10);
        long at =
            Harness.await(readyAt.computeIfAbsent(workerId, id -> new CompletableFuture<>()), 10);
        if (r >= 0) {
          ready[r] = (at - t0) / 1e6;
          comment(Line.ours("join").tag("run", r + 1).value("ready_ms", ready[r], 3));
        }
      }
      double[] load = series.stop();
      out.accept(cpu(line.spread("ready_ms", ready, 3).tag("runs", runs), load).toString());
    }
  }

  /**
   * A worker node process joining a running cluster (the bench node, with one worker process
   * already serving): {@code ready_ms} from the new member's Up to its worker Ready (its node's
   * {@code ready()}), wall clock on this machine. Up is the earlier of two sightings: the bench
   * node's {@code MemberUp} event and the new node's own (its {@code registerOnMemberUp}); Pekko
   * publishes member events once gossip has converged, so neither is the leader's decision itself
   * and either may come first. {@code seen_up_ms}: the new node's sighting minus the bench node's.
   * {@code launch_to_up_ms}: from starting the process (a fresh JVM, as a joining node is) to the
   * bench node's sighting, for scale.
   */
  private void clusterJoin(ClusterDeployment cluster, Line line) throws Exception {
    try (BenchNode bench = cluster.start("join", WorkerGroup.allTypes(1, 1))) {
      ProverNode node = bench.node();
      Map<String, CompletableFuture<Long>> upAt = ClusterDeployment.memberUpTimes(node);
      int runs = options.runsOr(5);
      int warmup = options.warmupOr(1);
      double[] ready = new double[runs];
      double[] seenUp = new double[runs];
      double[] launchToUp = new double[runs];
      CpuMeter series = new CpuMeter();
      for (int r = -warmup; r < runs; r++) {
        if (r == 0) {
          series.start();
        }
        try (ClusterDeployment.WorkerProcess joining =
            cluster.launchWorker(node, "joining" + (r + warmup + 1), WorkerGroup.allTypes(1, 1))) {
          long readyMicros = joining.awaitReady(90);
          String address = joining.address(10);
          long upMicros =
              Harness.await(upAt.computeIfAbsent(address, a -> new CompletableFuture<>()), 10);
          ClusterDeployment.awaitRegistered(node, joining.workerIds(), 10);
          long seenUpMicros = joining.seenUpMicros(10);
          if (r >= 0) {
            // the earlier of the two sightings of Up: a node publishes MemberUp only once gossip
            // converges, so the
            // bench node (the leader, which decided it) may hear it after the new node does
            ready[r] = (readyMicros - Math.min(upMicros, seenUpMicros)) / 1e3;
            seenUp[r] = (seenUpMicros - upMicros) / 1e3;
            launchToUp[r] = (upMicros - joining.launchedMicros()) / 1e3;
            comment(
                Line.ours("join")
                    .tag("run", r + 1)
                    .value("ready_ms", ready[r], 3)
                    .value("seen_up_ms", seenUp[r], 3)
                    .value("launch_to_up_ms", launchToUp[r], 1));
          }
        }
      }
      double[] load = series.stop();
      out.accept(
          cpu(
                  line.spread("ready_ms", ready, 3)
                      .spread("seen_up_ms", seenUp, 3)
                      .spread("launch_to_up_ms", launchToUp, 1)
                      .tag("runs", runs),
                  new double[] {load[0], load[1] + load[2]})
              .toString());
    }
  }

  // ---------------------------------------------------------------- memory

  /**
   * Heap of an idle node (queue, sequencer and one Ready worker) over the JVM's baseline, and what
   * each further worker adds (a node with {@code --workers} workers). Run in a JVM of its own.
   */
  private void idleHeap() throws Exception {
    Line line =
        Line.ours("idle-heap")
            .tag("deployment", deployment.name())
            .tag("workers", options.workers());
    if (!deployment.name().equals("jvm")) {
      skippedLine(line, new WorkloadSkipped(ONE_JVM_ONLY));
      return;
    }
    int runs = options.runsOr(3);
    double[] one = new double[runs];
    double[] used = new double[runs];
    double[] perWorker = new double[runs];
    for (int r = -options.warmupOr(1); r < runs; r++) {
      long base = usedHeapAfterGc();
      long withNode = idleNodeHeap(1);
      double single = withNode - base;
      base = usedHeapAfterGc();
      double many = idleNodeHeap(options.workers()) - base;
      if (r >= 0) {
        one[r] = single / (1 << 20);
        used[r] = withNode / (double) (1 << 20);
        perWorker[r] = (many - single) / Math.max(1, options.workers() - 1) / 1024;
        comment(
            Line.ours("idle-heap")
                .tag("run", r + 1)
                .value("node_mb", one[r], 2)
                .value("per_worker_kb", perWorker[r], 1));
      }
    }
    out.accept(
        line.spread("node_mb", one, 2)
            .value("used_heap_mb", Line.median(used), 1)
            .spread("per_worker_kb", perWorker, 1)
            .tag("runs", runs)
            .value("xmx_mb", Runtime.getRuntime().maxMemory() / (double) (1 << 20), 0)
            .toString());
  }

  private long idleNodeHeap(int workers) throws Exception {
    BenchNode idle = deployment.start("idle", WorkerGroup.allTypes(workers, 1));
    try {
      Thread.sleep(
          1000); // let start-up garbage and lazy structures settle; the node is idle meanwhile
      return usedHeapAfterGc();
    } finally {
      idle.close();
    }
  }

  /**
   * 1,000,000 pending ~200-byte tasks in one queue that no worker serves. {@code mode=queue}:
   * enqueued straight into the queue actor in batches of 10,000 (the queue's bookkeeping alone);
   * {@code mode=flow}: pushed by one flow, so the sequencer's per-task records count too. Heap used
   * after GC minus the node's own, and per task.
   */
  private void pendingHeap() throws Exception {
    for (String mode : List.of("queue", "flow")) {
      int n = options.pending();
      Line line =
          Line.ours("pending-heap")
              .tag("mode", mode)
              .tag("deployment", deployment.name())
              .tag("tasks", n);
      if (!deployment.name().equals("jvm")) {
        skippedLine(line, new WorkloadSkipped(ONE_JVM_ONLY));
        continue;
      }
      int runs = options.runsOr(3);
      double[] heap = new double[runs];
      double[] used = new double[runs];
      double[] rate = new double[runs];
      for (int r = -options.warmupOr(0); r < runs; r++) {
        // no worker: nothing is dispatched, everything stays pending
        ProverNode node = JvmDeployment.builder(config, "pending").start();
        try {
          Harness.await(node.ready(), 60);
          long base = usedHeapAfterGc();
          long t0 = System.nanoTime();
          if (mode.equals("queue")) {
            enqueueDirectly(node, n);
          } else {
            node.run(
                "pending",
                (FlowLogic<Long>)
                    scope -> {
                      for (int i = 0; i < n; i++) {
                        scope.push(BenchTasks.NOOP, BenchTasks.work(i, 0), seq -> {});
                      }
                    });
          }
          awaitPending(node, n);
          long t1 = System.nanoTime();
          long after = usedHeapAfterGc();
          if (options.histogram()) {
            histogram(12);
          }
          if (r >= 0) {
            heap[r] = (after - base) / (double) (1 << 20);
            used[r] = after / (double) (1 << 20);
            rate[r] = n / ((t1 - t0) / 1e9);
            comment(
                Line.ours("pending-heap")
                    .tag("run", r + 1)
                    .tag("mode", mode)
                    .value("heap_mb", heap[r], 1)
                    .value("bytes_per_task", (after - base) / (double) n, 0)
                    .value("used_heap_mb", used[r], 1));
          }
        } finally {
          node.close();
        }
      }
      double median = Line.median(heap);
      out.accept(
          line.spread("heap_mb", heap, 1)
              .value("bytes_per_task", median * (1 << 20) / n, 0)
              .value("used_heap_mb", Line.median(used), 1)
              .value("enqueue_per_s", Line.median(rate), 0)
              .value("xmx_mb", Runtime.getRuntime().maxMemory() / (double) (1 << 20), 0)
              .tag("runs", runs)
              .toString());
    }
  }

  /**
   * Enqueues n tasks into the queue actor in batches, as a flow's fan-out would, replies going
   * nowhere.
   */
  private static void enqueueDirectly(ProverNode node, int n) throws Exception {
    ActorRef<QueueCommand> queue = node.queue();
    int batch = 10_000;
    String runId = "bench-run";
    for (int from = 0; from < n; from += batch) {
      int to = Math.min(n, from + batch);
      List<TaskEnvelope> tasks = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        tasks.add(
            new TaskEnvelope(
                "pending:" + i,
                "pending",
                runId,
                BenchTasks.NOOP.name(),
                1,
                BenchTasks.work(i, 0)));
      }
      queue.tell(new QueueCommand.Enqueue(tasks, node.system().ignoreRef()));
      if ((to / batch) % 10 == 0) {
        awaitPending(node, to); // a bounded mailbox of batches: at most ten in flight
      }
    }
  }

  private static void awaitPending(ProverNode node, long n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (Harness.await(node.queueStats(), 30).of(BenchTasks.NOOP.name()).pending() < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the queue did not reach " + n + " pending tasks in 120 s");
      }
      Thread.sleep(20);
    }
  }

  /**
   * Prints the top classes of the live heap as comment lines (the JVM's GC.class_histogram
   * diagnostic command).
   */
  private void histogram(int top) throws Exception {
    String text =
        (String)
            ManagementFactory.getPlatformMBeanServer()
                .invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram",
                    new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
    text.lines().limit(top + 2).forEach(row -> out.accept("# histogram " + row.trim()));
  }

  static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return MEMORY.getHeapMemoryUsage().getUsed();
  }

  // ---------------------------------------------------------------- helpers

  private static final String ONE_JVM_ONLY = "a_one-JVM_measurement(heap_of_one_JVM)";

  /**
   * CPU over the measured runs ({@link CpuMeter#stop()}): this JVM's, the rest of the machine's,
   * and, when the worker runs in a process of its own (cross-process deployment), that process's as
   * {@code worker_cpu_pct}.
   */
  static Line cpu(Line line, double[] load) {
    line.value("cpu_pct", load[0], 0).value("other_cpu_pct", load[1], 0);
    return load.length > 2 && load[2] > 0 ? line.value("worker_cpu_pct", load[2], 0) : line;
  }

  private void skippedLine(Line line, WorkloadSkipped skipped) {
    out.accept(line + " skipped reason=" + skipped.getMessage());
  }

  private void comment(Line line) {
    out.accept("# " + line);
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }
}
