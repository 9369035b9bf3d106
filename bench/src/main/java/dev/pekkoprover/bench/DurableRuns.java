package dev.pekkoprover.bench;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.sequencer.ProvingOrchestrator;

/**
 * The workloads' runs on a durable sequencer ({@code --journal h2|postgres}): salted inputs, a flow
 * name per run, and the check that the measured runs' results reached the store. One per {@link
 * Workloads}, shared by its families (the salt counts every run of the harness).
 */
final class DurableRuns {
  private final Deployment deployment;

  /** Runs so far that took a salt: see {@link #salt()}. */
  private long salted;

  DurableRuns(Deployment deployment) {
    this.deployment = deployment;
  }

  /**
   * The sequence number base of one run's inputs ({@link BenchTasks#works(int, long, long)}). With
   * a journal, results are stored by content, so every run (warm-up, measured, each tree) gets
   * inputs no other run of the node had: base = run number x 2^24 (a run has fewer tasks; a tree's
   * merge inputs, sums of leaf values, then differ too). Without one, 0: the inputs are as they
   * always were.
   */
  long salt() {
    return deployment.journal().durable() ? (++salted) << 24 : 0;
  }

  /**
   * A flow's name: with a journal, one of its own per run (a completed name's stored outcome would
   * answer at once).
   */
  String flowName(String name, long salt) {
    return deployment.journal().durable() ? name + "-" + (salt >> 24) : name;
  }

  /** Results the node's result store has written (durability on), 0 without one. */
  static long storedResults(ProverNode node) {
    ProvingOrchestrator.StoreStats stats = Harness.await(node.storeStats(), 10);
    return stats.writer() == null ? 0 : stats.writer().results();
  }

  /**
   * With a journal: checks that the measured runs' results were all written to the store (so the
   * figure is not an in-memory one) and adds the store's counters to the line; {@code stored}
   * results written over the measured runs.
   */
  Line storeCheck(Line line, ProverNode node, long before, long expected) {
    if (!deployment.journal().durable()) {
      return line;
    }
    ProvingOrchestrator.StoreStats stats = Harness.await(node.storeStats(), 10);
    WorkloadFamily.check(
        stats.writer() != null,
        "journal " + deployment.journal().name() + " but the node has no result store");
    long stored = stats.writer().results() - before;
    WorkloadFamily.check(
        stored == expected,
        "the result store wrote "
            + stored
            + " results over the measured runs, expected "
            + expected);
    return line.tag("stored", stored)
        .tag("store_writes", stats.writer().writes())
        .tag("store_batch_max", stats.writer().largestBatch())
        .tag("store_write_mean_us", stats.writer().meanWriteMicros())
        .tag("store_write_max_us", stats.writer().maxWriteMicros())
        .tag("store_failed_writes", stats.writer().failedWrites());
  }
}
