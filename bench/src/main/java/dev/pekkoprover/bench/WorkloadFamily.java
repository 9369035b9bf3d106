package dev.pekkoprover.bench;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.util.function.Consumer;

/**
 * What the workload families ({@link Workloads}) share: the harness's options and deployment, where
 * the lines go, the durable runs' bookkeeping, and the helpers every workload uses to tag and print
 * its lines.
 */
abstract class WorkloadFamily {
  final Options options;
  final BenchConfig config;
  final Deployment deployment;
  final Consumer<String> out;
  final DurableRuns durable;

  /** What one {@link Workloads} gives each of its families. */
  record Shared(
      Options options,
      BenchConfig config,
      Deployment deployment,
      Consumer<String> out,
      DurableRuns durable) {}

  WorkloadFamily(Shared shared) {
    this.options = shared.options();
    this.config = shared.config();
    this.deployment = shared.deployment();
    this.out = shared.out();
    this.durable = shared.durable();
  }

  /**
   * Tags what the node measured really ran with: its journal, whether its meters are on ({@code
   * prover.metrics.enabled}, as the node's actor system has it) and, across processes, whether its
   * transport is mutual TLS ({@code tls=on}: Artery's {@code tls-tcp}, as shipped) or plain TCP
   * ({@code tls=off}).
   */
  Line setup(Line line, ProverNode node) {
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
   * CPU over the measured runs ({@link CpuMeter#stop()}): this JVM's, the rest of the machine's,
   * when the worker runs in a process of its own (cross-process deployment) that process's as
   * {@code worker_cpu_pct}, and the JIT compilers' share of these as {@code jit_pct}.
   */
  static Line cpu(Line line, double[] load) {
    line.value("cpu_pct", load[0], 0).value("other_cpu_pct", load[1], 0);
    if (load.length > 2 && load[2] > 0) {
      line.value("worker_cpu_pct", load[2], 0);
    }
    return load.length > 3 ? line.value("jit_pct", load[3], 0) : line;
  }

  /** One unreported run of a workload. */
  interface WarmUpRun {
    void run() throws Exception;
  }

  /** The JIT counts as quiet below this share of one core: 5%. */
  static final double JIT_QUIET_SHARE = 0.05;

  /** Warm-up runs after the fixed ones are judged over at least this much wall time: 1 s. */
  private static final long JIT_WINDOW_NANOS = 1_000_000_000L;

  /**
   * The warm-up before a workload's measured runs: {@code fixedRuns} runs, then (unless {@code
   * --jit-quiet-max-s 0}, as in {@code --quick}) more, a second's worth at a time, until the JIT
   * compilers of this JVM and of the worker processes ({@link JitMeter}) used less than {@link
   * #JIT_QUIET_SHARE} of one core over the last second, or {@code --jit-quiet-max-s} passed. A
   * fixed count of warm-up runs was too few for the cross-process workloads, whose worker processes
   * are fresh JVMs: their compilers were still busy, on the same two cores, through the measured
   * runs. Tags the line {@code warmup_runs} (all of them) and {@code jit_quiet} ({@code yes},
   * {@code no} when the bound ran out, {@code unchecked} when not waited for).
   */
  void warmUp(Line line, int fixedRuns, WarmUpRun run) throws Exception {
    int runs = 0;
    for (; runs < fixedRuns; runs++) {
      run.run();
    }
    String quiet = "unchecked";
    if (options.jitQuietMaxSeconds() > 0) {
      long deadline = System.nanoTime() + options.jitQuietMaxSeconds() * 1_000_000_000L;
      while (true) {
        long start = System.nanoTime();
        double compiling = JitMeter.compilerSeconds();
        do {
          run.run();
          runs++;
        } while (System.nanoTime() - start < JIT_WINDOW_NANOS);
        double share =
            (JitMeter.compilerSeconds() - compiling) / ((System.nanoTime() - start) / 1e9);
        if (share < JIT_QUIET_SHARE) {
          quiet = "yes";
          break;
        }
        if (System.nanoTime() - deadline > 0) {
          quiet = "no";
          break;
        }
      }
    }
    line.tag("warmup_runs", runs).tag("jit_quiet", quiet);
  }

  void skippedLine(Line line, WorkloadSkipped skipped) {
    skipped(out, line, skipped);
  }

  static void skipped(Consumer<String> out, Line line, WorkloadSkipped skipped) {
    out.accept(line + " skipped reason=" + skipped.getMessage());
  }

  void comment(Line line) {
    out.accept("# " + line);
  }

  static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }
}
