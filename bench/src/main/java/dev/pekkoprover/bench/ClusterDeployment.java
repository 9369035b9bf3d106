package dev.pekkoprover.bench;

import dev.pekkoprover.cluster.WorkerGroup;

/**
 * The worker in a separate process, joined over loopback: the sequencer and the queue run in this JVM, the worker in
 * a node process started from the launcher. Not wired yet: every workload in this deployment prints {@code skipped
 * reason=...}.
 *
 * <p>To fill in (the lead's cluster deployment): start this JVM's node with roles sequencer and queue on a free
 * port; start {@code java -cp bench/target/bench.jar <launcher> node --roles worker --port 0 --seeds <this node>}
 * with the bench task types on its classpath (the bench jar holds them: {@link BenchTasks#catalog()}); wait until
 * the queue counts the worker and the registration loop has registered it (Ready); return a {@link
 * Deployment.BenchNode} whose {@code others} kills that process. Every workload then runs unchanged.
 */
final class ClusterDeployment implements Deployment {
  static final String NOT_YET =
      "cluster_deployment_not_wired_into_the_bench_yet(needs_the_node_launcher_and_bench_task_types_on_the_worker_node)";

  private final BenchConfig config;

  ClusterDeployment(BenchConfig config) {
    this.config = config;
  }

  @Override
  public String name() {
    return "cluster";
  }

  @Override
  public BenchNode start(String name, WorkerGroup workers) throws WorkloadSkipped {
    throw new WorkloadSkipped(NOT_YET);
  }

  BenchConfig config() {
    return config;
  }
}
