package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.Workload;
import picocli.CommandLine.Option;

/**
 * The appchain service's dev genesis as a client command names it ({@code load}, {@code transfer}):
 * the node's {@code --seed} and {@code --accounts}, whose seeded wallets sign the client's
 * transfers. A picocli mixin.
 */
final class ServiceGenesis {
  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "the service's genesis seed, its --seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--accounts",
      defaultValue = "200",
      description = "the service's genesis accounts, its --accounts (default: ${DEFAULT-VALUE})")
  int accounts;

  /**
   * The genesis's wallets and balances.
   *
   * @throws IllegalArgumentException fewer than 2 accounts, as the service refuses
   */
  Workload workload() {
    if (accounts < 2) {
      throw new IllegalArgumentException(
          "--accounts must be at least 2, as the service's genesis, got " + accounts);
    }
    return Workload.generate(seed, accounts, 0, 1, 0);
  }

  /** {@code "--seed S --accounts A"}, for messages. */
  @Override
  public String toString() {
    return "--seed " + seed + " --accounts " + accounts;
  }
}
