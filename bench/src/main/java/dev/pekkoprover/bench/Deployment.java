package dev.pekkoprover.bench;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;

/**
 * Where a measured node's parts run. Every workload asks its deployment for a node and measures
 * from that node's sequencer side, so the same workload code measures one JVM and, once it exists,
 * a cluster over loopback.
 */
public interface Deployment {

  /** {@code jvm} or {@code cluster}: the {@code deployment=} field of every line. */
  String name();

  /**
   * Starts a node that runs the queue and the sequencer, plus {@code workers} serving every bench
   * task type, and returns once every one of those workers is Ready.
   *
   * @throws WorkloadSkipped when this deployment cannot run it (yet)
   */
  BenchNode start(String name, WorkerGroup workers) throws WorkloadSkipped;

  /**
   * The journal of the nodes it starts ({@code --journal}): the {@code journal=} field of every
   * line.
   */
  Journal journal();

  /**
   * A started node: the sequencer side to measure from, whatever else must stop with it (worker
   * processes), and what to clean up once it has stopped (its journal's store).
   */
  record BenchNode(ProverNode node, AutoCloseable others, AutoCloseable after)
      implements AutoCloseable {
    BenchNode(ProverNode node, AutoCloseable others) {
      this(node, others, null);
    }

    /**
     * Stops all of it; a failure to stop comes back unchecked (interrupted: with the thread's flag
     * kept).
     */
    @Override
    public void close() {
      try {
        stopAll();
      } catch (RuntimeException e) {
        throw e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping the bench node", e);
      } catch (Exception e) {
        throw new IllegalStateException("could not stop the bench node: " + e.getMessage(), e);
      }
    }

    private void stopAll() throws Exception {
      // the others first: a worker node leaves the cluster gracefully while this node is still
      // there to see it go
      try {
        if (others != null) {
          others.close();
        }
      } finally {
        try {
          node.close();
        } finally {
          if (after != null) {
            after.close();
          }
        }
      }
    }
  }

  static Deployment named(String name, BenchConfig config, Journal journal) {
    return switch (name) {
      case "jvm" -> new JvmDeployment(config, journal);
      case "cluster" -> new ClusterDeployment(config, journal);
      default -> throw new IllegalArgumentException("unknown deployment " + name);
    };
  }
}
