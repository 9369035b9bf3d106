package dev.pekkoprover.bench;

import dev.pekkoprover.cluster.ProverNode;
import dev.pekkoprover.cluster.WorkerGroup;
import dev.pekkoprover.sequencer.StartupPlan;

/** Everything in this JVM: {@code LocalTaskQueue}, the sequencer and local workers in one actor system. */
final class JvmDeployment implements Deployment {
  private final BenchConfig config;

  JvmDeployment(BenchConfig config) {
    this.config = config;
  }

  @Override
  public String name() {
    return "jvm";
  }

  @Override
  public BenchNode start(String name, WorkerGroup workers) {
    ProverNode node = builder(config, name).workers(workers).start();
    Harness.await(node.ready(), 60);
    return new BenchNode(node, null);
  }

  /** A node with the queue and a sequencer whose start-up has nothing to compile (fixed registration parameters). */
  static ProverNode.Builder builder(BenchConfig config, String name) {
    return ProverNode.builder(name)
        .config(config.config())
        .catalog(BenchTasks.catalog())
        .localQueue()
        .sequencer(StartupPlan.fixed(REGISTRATION));
  }

  /** What every bench worker gets at registration: nothing it needs, but the life cycle runs as in production. */
  static final String REGISTRATION = "bench-parameters";
}
