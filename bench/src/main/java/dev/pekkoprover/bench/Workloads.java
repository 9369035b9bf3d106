package dev.pekkoprover.bench;

import java.util.List;
import java.util.function.Consumer;

/**
 * The workloads, each the same as the BullMQ baseline's where the baseline has one. Every workload
 * prints one line per measurement ({@link Line}); warm-up runs are not reported, measured runs are
 * summarised as median [min..max], and each measured run is also echoed as a {@code #} comment line
 * with its raw figures.
 *
 * <p>Each family of workloads is a class of its own, {@link ThroughputLatencyWorkloads}, {@link
 * TreeWorkloads}, {@link StartupWorkloads} and {@link MemoryWorkloads}; this one runs them by name.
 */
final class Workloads {
  private final Options options;
  private final Deployment deployment;
  private final Consumer<String> out;
  private final ThroughputLatencyWorkloads speed;
  private final TreeWorkloads trees;
  private final StartupWorkloads startup;
  private final MemoryWorkloads memory;

  Workloads(Options options, BenchConfig config, Deployment deployment, Consumer<String> out) {
    this.options = options;
    this.deployment = deployment;
    this.out = out;
    WorkloadFamily.Shared shared =
        new WorkloadFamily.Shared(options, config, deployment, out, new DurableRuns(deployment));
    this.speed = new ThroughputLatencyWorkloads(shared);
    this.trees = new TreeWorkloads(shared);
    this.startup = new StartupWorkloads(shared);
    this.memory = new MemoryWorkloads(shared);
  }

  /**
   * Runs one workload by name; a failure is printed as an {@code error=} line and returned as
   * false.
   */
  boolean run(String workload) {
    try {
      if (deployment.journal().durable() && !DURABLE_WORKLOADS.contains(workload)) {
        WorkloadFamily.skipped(
            out,
            Line.ours(workload)
                .tag("deployment", deployment.name())
                .tag("journal", deployment.journal().name()),
            new WorkloadSkipped(
                "not_measured_with_a_journal(only_" + String.join(",", DURABLE_WORKLOADS) + ")"));
        return true;
      }
      switch (workload) {
        case "throughput" -> speed.throughput();
        case "latency" -> speed.latency();
        case "tree" -> {
          trees.tree(0, "flow");
          trees.tree(0, "pairs");
        }
        case "sched" -> {
          for (double workMs : options.workMs()) {
            trees.tree(workMs, "flow");
            trees.tree(workMs, "pairs");
          }
        }
        case "fleet" -> startup.fleet();
        case "join" -> startup.join();
        case "idle-heap" -> memory.idleHeap();
        case "pending-heap" -> memory.pendingHeap();
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
}
