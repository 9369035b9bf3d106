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
   * {@code worker_cpu_pct}, the JIT compilers' share of these as {@code jit_pct}, and the
   * hypervisor's steal as {@code steal_pct} (part of {@code other_cpu_pct}).
   */
  static Line cpu(Line line, double[] load) {
    line.value("cpu_pct", load[0], 0).value("other_cpu_pct", load[1], 0);
    if (load.length > 2 && load[2] > 0) {
      line.value("worker_cpu_pct", load[2], 0);
    }
    if (load.length > 3) {
      line.value("jit_pct", load[3], 0);
    }
    if (load.length > 4 && Double.isFinite(load[4])) {
      line.value("steal_pct", load[4], 0);
    }
    return line;
  }

  /**
   * The warm-up before a workload's measured runs: {@code fixedRuns} runs, then (unless {@code
   * --jit-quiet-max-s 0}, as in {@code --quick}) more until the JIT compilers are quiet ({@link
   * JitMeter#runUntilQuiet}). A fixed count of warm-up runs was too few for the cross-process
   * workloads, whose worker processes are fresh JVMs: their compilers were still busy, on the same
   * two cores, through the measured runs. Tags the line {@code warmup_runs} (all of them) and
   * {@code jit_quiet} ({@code yes}, {@code no} when the bound ran out, {@code unchecked} when not
   * waited for).
   */
  void warmUp(Line line, int fixedRuns, JitMeter.Run run) throws Exception {
    for (int r = 0; r < fixedRuns; r++) {
      run.run();
    }
    JitMeter.Quiet quiet = JitMeter.runUntilQuiet(options.jitQuietMaxSeconds(), run);
    line.tag("warmup_runs", fixedRuns + quiet.runs()).tag("jit_quiet", quiet.verdict());
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
