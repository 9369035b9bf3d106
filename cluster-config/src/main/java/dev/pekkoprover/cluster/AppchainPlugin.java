package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.StartupPlan;

/**
 * The reference appchain as the launcher's plugin, its default: the appchain's task types (with the
 * crash drill of {@code prover.appchain-job.crash-every}), its circuit compilation as the start-up
 * plan, and {@link AppchainJob} with the workload of {@code prover.appchain-job} as the sequencer's
 * job.
 */
public final class AppchainPlugin implements ProverPlugin {
  /** The plugin's name, for {@code --plugin}. */
  public static final String NAME = "appchain";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public TaskCatalog catalog(Config config) {
    return AppchainJob.catalog(config.getLong("prover.appchain-job.crash-every"));
  }

  @Override
  public StartupPlan<?, ?> startupPlan(Config config) {
    return AppchainJob.startupPlan(AppchainSettings.fromConfig(config));
  }

  /**
   * Reads and checks every setting the job uses before it returns, so that the launcher refuses a
   * bad one before the node starts.
   *
   * @throws IllegalArgumentException a setting out of range
   * @throws com.typesafe.config.ConfigException a setting missing or not of its type
   */
  @Override
  public Job job(Config config) {
    AppchainSettings settings = AppchainSettings.fromConfig(config);
    Config job = config.getConfig("prover.appchain-job");
    if (job.getBoolean("service")) {
      ServiceSettings.fromConfig(config);
      AppchainService.genesis(job);
      return (node, out) -> AppchainService.run(node, settings, config, out);
    }
    AppchainJob.Options options = options(job);
    return (node, out) -> {
      AppchainJob.Summary summary = AppchainJob.run(node, settings, options, out);
      return new Outcome(summary.ok(), summary.render());
    };
  }

  /** The job's workload from {@code prover.appchain-job}. */
  static AppchainJob.Options options(Config job) {
    return new AppchainJob.Options(
        job.getInt("accounts"),
        job.getInt("blocks"),
        job.getInt("txs"),
        job.getInt("batch"),
        job.getLong("seed"));
  }
}
