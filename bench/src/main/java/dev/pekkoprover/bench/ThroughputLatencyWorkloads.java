package dev.pekkoprover.bench;

import dev.pekkoprover.bench.BenchTasks.Work;
import dev.pekkoprover.bench.Deployment.BenchNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.sequencer.FlowResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;

/**
 * The throughput and latency workloads ({@link Workloads}): tasks through one worker at concurrency
 * c, in bulk (throughput), one at a time and at a fixed rate (latency).
 */
final class ThroughputLatencyWorkloads extends WorkloadFamily {
  ThroughputLatencyWorkloads(Shared shared) {
    super(shared);
  }

  /**
   * 20,000 no-op tasks added in bulk by one flow, one worker at concurrency c: first enqueue to
   * last result.
   */
  void throughput() throws Exception {
    int n = options.tasks();
    for (int c : options.conc()) {
      Line line =
          Line.ours("throughput").tag("c", c).tag("deployment", deployment.name()).tag("tasks", n);
      try (BenchNode bench = deployment.start("tp-c" + c, WorkerGroup.allTypes(1, c))) {
        setup(line, bench.node());
        // across processes a run takes 1-15 s instead of 0.1 s: fewer runs still warm the paths and
        // keep the spread
        boolean acrossProcesses = deployment instanceof ClusterDeployment;
        int runs = options.runsOr(acrossProcesses ? 5 : 10);
        int warmup = options.warmupOr(acrossProcesses ? 3 : 10);
        double[] perSecond = new double[runs];
        double[] endToEnd = new double[runs];
        CpuMeter series = new CpuMeter();
        warmUp(line, warmup, () -> bulkRun(bench, n));
        long storedBefore = DurableRuns.storedResults(bench.node());
        // CPU over all measured runs: a single short run is below /proc/stat's 10 ms resolution
        series.start();
        for (int r = 0; r < runs; r++) {
          double[] run = bulkRun(bench, n);
          perSecond[r] = run[0];
          endToEnd[r] = run[1];
          comment(
              Line.ours("throughput")
                  .tag("run", r + 1)
                  .tag("c", c)
                  .value("tasks_per_s", perSecond[r], 0)
                  .value("wall_s", run[2], 4));
        }
        double[] load = series.stop();
        durable.storeCheck(line, bench.node(), storedBefore, (long) runs * n);
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

  /**
   * One throughput run: {@code n} no-op tasks added in bulk by one flow. [tasks per second from the
   * first enqueue to the last result, tasks per second from submit to the flow's return, the first
   * of these spans in seconds].
   */
  private double[] bulkRun(BenchNode bench, int n) throws Exception {
    long salt = durable.salt();
    BenchFlows.Bulk flow = new BenchFlows.Bulk(BenchTasks.works(n, 0, salt));
    long submitted = System.nanoTime();
    FlowResult.Completed done =
        Harness.await(bench.node().runWithStats(durable.flowName("throughput", salt), flow), 300);
    long returned = System.nanoTime();
    check(
        done.result().equals((long) n),
        "throughput flow completed with " + done.result() + " results");
    check(done.stats().duplicates() == 0, "duplicates: " + done.stats().duplicates());
    check(
        done.stats().reused() == 0,
        done.stats().reused() + " tasks answered from the store, not run");
    double seconds = (flow.lastResultNanos - flow.firstEnqueueNanos) / 1e9;
    return new double[] {n / seconds, n / ((returned - submitted) / 1e9), seconds};
  }

  // ---------------------------------------------------------------- latency

  /**
   * Blocks per sequential run across processes, ours and the bare transport in turn: short enough
   * (200 round trips, about 0.1 s) that a burst of the machine's noise falls on both alike.
   */
  static final int PAIRED_BLOCKS = 10;

  void latency() throws Exception {
    sequentialLatency(options.latConc().get(0));
    for (int c : options.latConc()) {
      pacedLatency(c);
    }
  }

  /**
   * 2,000 tasks one at a time from one flow: push to result, at the flow. Across processes each run
   * is paired with as many round trips of the bare transport in the same two JVMs, interleaved: in
   * {@value #PAIRED_BLOCKS} blocks, each a flow of 1/{@value #PAIRED_BLOCKS} of the tasks and as
   * many asks, one at a time, of the echo actor the worker process serves ({@link
   * BareRoundTrip#echo}, a body of one task's bytes), which of the two goes first alternating. The
   * line gets their medians as {@code bare_p50_ms}, {@code bare_p99_ms} and {@code p99_over_bare}
   * (the median of the runs' ours/bare p99 ratios), and the p99 of all runs' round trips together
   * ({@code pooled_p99_ms}, {@code bare_pooled_p99_ms}, {@code pooled_p99_over_bare}): the
   * framework's own share of the tail, without the machine's drift between two measurements minutes
   * apart ({@link Targets}).
   */
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
      ActorRef<BareRoundTrip.Ping> echo =
          bench.others() instanceof WorkerProcess worker
              ? ActorRefResolver.get(bench.node().system()).resolveActorRef(worker.echoPath(10))
              : null;
      LatencyRuns bare = new LatencyRuns(runs);
      byte[] body = new byte[BareRoundTrip.TASK_BYTES];
      CpuMeter series = new CpuMeter();
      warmUp(
          line,
          warmup,
          () -> {
            Harness.await(
                bench.node().run("latency", new BenchFlows.Sequential(BenchTasks.works(n, 0))),
                120);
            if (echo != null) {
              BareRoundTrip.askOneAtATime(bench.node().system(), echo, n, body);
            }
          });
      series.start();
      double[] ratios = new double[runs];
      for (int r = 0; r < runs; r++) {
        if (echo == null) {
          BenchFlows.Sequential flow = new BenchFlows.Sequential(BenchTasks.works(n, 0));
          Harness.await(bench.node().run("latency", flow), 120);
          results.add(r, flow.latencyNanos);
        } else {
          // blocks of n / PAIRED_BLOCKS, ours and bare in turn, the first of each pair alternating
          long[] oursNanos = new long[n];
          long[] bareNanos = new long[n];
          for (int b = 0; b < PAIRED_BLOCKS; b++) {
            int from = b * n / PAIRED_BLOCKS;
            int size = (b + 1) * n / PAIRED_BLOCKS - from;
            for (int side = 0; side < 2; side++) {
              if ((side + b) % 2 == 0) {
                BenchFlows.Sequential flow = new BenchFlows.Sequential(BenchTasks.works(size, 0));
                Harness.await(bench.node().run("latency", flow), 120);
                System.arraycopy(flow.latencyNanos, 0, oursNanos, from, size);
              } else {
                long[] asks = BareRoundTrip.askOneAtATime(bench.node().system(), echo, size, body);
                System.arraycopy(asks, 0, bareNanos, from, size);
              }
            }
          }
          results.add(r, oursNanos);
          bare.add(r, bareNanos);
        }
        Line runLine =
            results.runLine(
                r, Line.ours("latency").tag("run", r + 1).tag("mode", "sequential").tag("c", c));
        if (echo != null) {
          ratios[r] = results.p99[r] / bare.p99[r];
          runLine
              .value("bare_p50_ms", bare.p50[r], 4)
              .value("bare_p99_ms", bare.p99[r], 4)
              .value("p99_over_bare", ratios[r], 3);
        }
        comment(runLine);
      }
      Line summary = results.summary(line, series.stop());
      if (echo != null) {
        summary
            .value("bare_p50_ms", Line.median(bare.p50), 4)
            .value("bare_p99_ms", Line.median(bare.p99), 4)
            .value("p99_over_bare", Line.median(ratios), 3)
            .value("pooled_p99_ms", results.pooledP99(), 4)
            .value("bare_pooled_p99_ms", bare.pooledP99(), 4)
            .value("pooled_p99_over_bare", results.pooledP99() / bare.pooledP99(), 3);
      }
      out.accept(summary.toString());
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
      // a warm-up run is a quarter as long: it only has to compile the paths
      warmUp(line, warmup, () -> pacedRun(bench, Math.max(1, n / 4), rate));
      series.start();
      for (int r = 0; r < runs; r++) {
        PacedRun run = pacedRun(bench, n, rate);
        results.add(r, run.latencies());
        fromPush.add(r, run.pushed());
        achieved[r] = run.achievedRate();
        lateMax[r] = run.lateMaxMs();
        comment(
            results
                .runLine(r, Line.ours("latency").tag("run", r + 1).tag("mode", "paced").tag("c", c))
                .value("achieved_rate", achieved[r], 0)
                .value("pacing_late_max_ms", lateMax[r], 3));
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

  /**
   * One paced run's figures: per task the nanoseconds from submit and from push to its result, the
   * rate achieved (tasks per second) and how late the pacing thread started a task at worst (ms).
   */
  private record PacedRun(long[] latencies, long[] pushed, double achievedRate, double lateMaxMs) {}

  /** One paced run: {@code tasks} single-task flows started at {@code rate} per second. */
  private PacedRun pacedRun(BenchNode bench, int tasks, int rate) throws Exception {
    List<Work> inputs = BenchTasks.works(tasks, 0);
    long[] latencies = new long[tasks];
    long[] pushed = new long[tasks];
    Arrays.fill(latencies, -1);
    List<CompletableFuture<Long>> flows = new ArrayList<>(tasks);
    long period = TimeUnit.SECONDS.toNanos(1) / rate;
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
    return new PacedRun(latencies, pushed, tasks / ((end - start) / 1e9), late / 1e6);
  }

  /** Latency percentiles per run and their summary across runs. */
  private static final class LatencyRuns {
    private final double[] p50;
    private final double[] p90;
    private final double[] p99;
    private final double[] max;
    private final double[] mean;
    private final Histogram pooled = new Histogram(TimeUnit.SECONDS.toNanos(120), 3);

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
      pooled.add(histogram);
      p50[run] = histogram.getValueAtPercentile(50) / 1e6;
      p90[run] = histogram.getValueAtPercentile(90) / 1e6;
      p99[run] = histogram.getValueAtPercentile(99) / 1e6;
      max[run] = histogram.getMaxValue() / 1e6;
      mean[run] = histogram.getMean() / 1e6;
    }

    /** The p99 of every run's latencies together, ms. */
    double pooledP99() {
      return pooled.getValueAtPercentile(99) / 1e6;
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
}
