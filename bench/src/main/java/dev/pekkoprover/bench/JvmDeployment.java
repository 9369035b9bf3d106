package dev.pekkoprover.bench;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.sequencer.StartupPlan;

/**
 * Everything in this JVM: {@code LocalTaskQueue}, the sequencer and local workers in one actor
 * system.
 */
record JvmDeployment(BenchConfig config, Journal journal) implements Deployment {
  @Override
  public String name() {
    return "jvm";
  }

  @Override
  public BenchNode start(String name, WorkerGroup workers) {
    Journal.Opened store = journal.open(config.config());
    ProverNode node = builder(store.config(), name).workers(workers).start();
    try {
      Harness.await(node.ready(), 60);
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    return new BenchNode(node, null, store.cleanup());
  }

  /**
   * A node with the queue and a sequencer whose start-up has nothing to compile (fixed registration
   * parameters).
   */
  static ProverNode.Builder builder(BenchConfig config, String name) {
    return builder(config.config(), name);
  }

  static ProverNode.Builder builder(com.typesafe.config.Config config, String name) {
    return ProverNode.builder(name)
        .config(config)
        .catalog(BenchTasks.catalog())
        .localQueue()
        .sequencer(StartupPlan.fixed(REGISTRATION));
  }

  /**
   * What every bench worker gets at registration: nothing it needs, but the life cycle runs as in
   * production.
   */
  static final String REGISTRATION = "bench-parameters";
}
