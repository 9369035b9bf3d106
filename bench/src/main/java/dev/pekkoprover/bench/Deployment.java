package dev.pekkoprover.bench;

import dev.pekkoprover.cluster.ProverNode;
import dev.pekkoprover.cluster.WorkerGroup;

/**
 * Where a measured node's parts run. Every workload asks its deployment for a node and measures from that node's
 * sequencer side, so the same workload code measures one JVM and, once it exists, a cluster over loopback.
 */
public interface Deployment {

  /** {@code jvm} or {@code cluster}: the {@code deployment=} field of every line. */
  String name();

  /**
   * Starts a node that runs the queue and the sequencer, plus {@code workers} serving every bench task type, and
   * returns once every one of those workers is Ready.
   *
   * @throws WorkloadSkipped when this deployment cannot run it (yet)
   */
  BenchNode start(String name, WorkerGroup workers) throws WorkloadSkipped;

  /** A started node: the sequencer side to measure from, and whatever else must stop with it (worker processes). */
  record BenchNode(ProverNode node, AutoCloseable others) implements AutoCloseable {
    @Override
    public void close() throws Exception {
      // the others first: a worker node leaves the cluster gracefully while this node is still there to see it go
      try {
        if (others != null) {
          others.close();
        }
      } finally {
        node.close();
      }
    }
  }

  static Deployment named(String name, BenchConfig config) {
    return switch (name) {
      case "jvm" -> new JvmDeployment(config);
      case "cluster" -> new ClusterDeployment(config);
      default -> throw new IllegalArgumentException("unknown deployment " + name);
    };
  }
}
