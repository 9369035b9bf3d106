package dev.pekkoprover.appchain;

import com.typesafe.config.Config;

/**
 * The appchain's settings, read once from {@code prover.appchain} (defaults in this module's {@code
 * reference.conf}).
 *
 * @param provingWork SHA-256 iterations per proof (0: none); reaches workers through the
 *     registration parameters
 * @param transitionsPerTask state transitions per {@code StateTransitionTask}
 * @param maxBlockTransactions most transactions per block
 * @param circuitSeed seed circuit compilation derives the keys from
 * @param mempoolCapacity transactions the mempool holds at most
 */
public record AppchainSettings(
    long provingWork,
    int transitionsPerTask,
    int maxBlockTransactions,
    String circuitSeed,
    int mempoolCapacity) {

  public AppchainSettings {
    if (provingWork < 0) {
      throw new IllegalArgumentException(
          "prover.appchain.proving-work must be at least 0, was " + provingWork);
    }
    if (transitionsPerTask < 1) {
      throw new IllegalArgumentException(
          "prover.appchain.transitions-per-task must be at least 1, was " + transitionsPerTask);
    }
    if (maxBlockTransactions < 1) {
      throw new IllegalArgumentException(
          "prover.appchain.max-block-transactions must be at least 1, was " + maxBlockTransactions);
    }
    if (circuitSeed == null || circuitSeed.isEmpty()) {
      throw new IllegalArgumentException("prover.appchain.circuit-seed must not be empty");
    }
    if (mempoolCapacity < 1) {
      throw new IllegalArgumentException(
          "prover.appchain.mempool-capacity must be at least 1, was " + mempoolCapacity);
    }
  }

  /**
   * Reads {@code prover.appchain} from a full config (an actor system's, or {@code
   * ConfigFactory.load()}).
   */
  public static AppchainSettings fromConfig(Config config) {
    Config appchain = config.getConfig("prover.appchain");
    return new AppchainSettings(
        appchain.getLong("proving-work"),
        appchain.getInt("transitions-per-task"),
        appchain.getInt("max-block-transactions"),
        appchain.getString("circuit-seed"),
        appchain.getInt("mempool-capacity"));
  }

  /** The same settings with another proving work. */
  public AppchainSettings withProvingWork(long work) {
    return new AppchainSettings(
        work, transitionsPerTask, maxBlockTransactions, circuitSeed, mempoolCapacity);
  }

  /** The same settings with another state transition batch size. */
  public AppchainSettings withTransitionsPerTask(int transitions) {
    return new AppchainSettings(
        provingWork, transitions, maxBlockTransactions, circuitSeed, mempoolCapacity);
  }

  /** The same settings with another circuit seed. */
  public AppchainSettings withCircuitSeed(String seed) {
    return new AppchainSettings(
        provingWork, transitionsPerTask, maxBlockTransactions, seed, mempoolCapacity);
  }
}
