package dev.pekkoprover.bench;

import dev.pekkoprover.bench.BenchTasks.Merge;
import dev.pekkoprover.bench.Deployment.BenchNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.FlowResult;

/**
 * The tree workloads ({@link Workloads}): a reduction tree of no-op tasks ({@code tree}), and of
 * timed tasks against the optimal schedule ({@code sched}).
 */
final class TreeWorkloads extends WorkloadFamily {
  TreeWorkloads(Shared shared) {
    super(shared);
  }

  /**
   * 64 leaves, then 63 pairwise merges, one worker at concurrency 8; submit to root, at the flow.
   * {@code mode=flow}: the framework's own tree, {@link FanOutReduce} (leaf and merge are two task
   * types; each merge as soon as two adjacent ranges are in). {@code mode=pairs}: the baseline's
   * algorithm ({@link BenchFlows.Pairs}: one task type, balanced pairs). {@code workMs > 0}: every
   * task takes that simulated time, and the makespan is compared with the optimal schedule's
   * ({@link IdealSchedule}).
   */
  void tree(double workMs, String mode) throws Exception {
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
      int runs = options.runsOr(timed ? 3 : 5);
      int warmup = options.warmupOr(timed ? 1 : 5);
      double[] medians = new double[runs];
      double[] mins = new double[runs];
      double[] maxs = new double[runs];
      double[] meanTaskMs = new double[runs];
      CpuMeter series = new CpuMeter();
      warmUp(line, warmup, () -> trees(bench, mode, timed, workNanos, trees));
      long storedBefore = DurableRuns.storedResults(bench.node());
      series.start();
      for (int r = 0; r < runs; r++) {
        BenchTasks.takeMeanTimedNanos();
        double[] times = trees(bench, mode, timed, workNanos, trees);
        meanTaskMs[r] = BenchTasks.takeMeanTimedNanos() / 1e6;
        medians[r] = Line.median(times);
        mins[r] = Line.min(times);
        maxs[r] = Line.max(times);
        comment(
            Line.ours(kind)
                .tag("run", r + 1)
                .tag("mode", mode)
                .tag("c", c)
                .value("median_ms", medians[r], 3)
                .value("min_ms", mins[r], 3)
                .value("max_ms", maxs[r], 3));
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
      durable.storeCheck(
          line, bench.node(), storedBefore, (long) runs * trees * IdealSchedule.tasks(leaves));
      out.accept(cpu(line.tag("runs", runs), load).toString());
    } catch (WorkloadSkipped skipped) {
      skippedLine(line, skipped);
    }
  }

  /**
   * One run: {@code trees} trees one after another, each its own flow with its own inputs; the
   * milliseconds from submitting each to its root at the flow. Checks every root and that no task
   * was answered from the store.
   */
  private double[] trees(BenchNode bench, String mode, boolean timed, long workNanos, int trees)
      throws Exception {
    int leaves = options.leaves();
    String kind = timed ? "sched" : "tree";
    long expectedRoot = (long) leaves * (leaves - 1) / 2;
    double[] times = new double[trees];
    for (int t = 0; t < trees; t++) {
      // each tree its own inputs: leaf i is salt + i, so its root is leaves x salt more
      long salt = durable.salt();
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
          Harness.await(bench.node().runWithStats(durable.flowName(kind, salt), flow), 120);
      long root = (Long) done.result();
      check(
          root == expectedRoot + leaves * salt,
          "tree root " + root + ", expected " + (expectedRoot + leaves * salt));
      check(
          done.stats().reused() == 0,
          done.stats().reused() + " tasks answered from the store, not run");
      times[t] = (flow.completedNanos - submitted) / 1e6;
    }
    return times;
  }
}
