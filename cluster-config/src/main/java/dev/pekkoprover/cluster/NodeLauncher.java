package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The runnable artifact: {@code java -jar prover-node.jar <command>}. */
@Command(
    name = "prover-node",
    mixinStandardHelpOptions = true,
    description = "Distributed proving-task framework: sequencer, task queue and workers on Pekko.",
    subcommands = {NodeLauncher.Run.class})
public final class NodeLauncher {

  public static void main(String[] args) {
    System.exit(new CommandLine(new NodeLauncher()).execute(args));
  }

  /** The embedded single-JVM appchain: sequencer, local queue and workers in one actor system. */
  @Command(
      name = "run",
      mixinStandardHelpOptions = true,
      description = "Run the reference appchain in one JVM and check its proofs against the direct computation.")
  static final class Run implements Callable<Integer> {
    @Option(names = "--workers", defaultValue = "2", description = "local workers (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--concurrency", defaultValue = "2", description = "tasks per worker at once (default: ${DEFAULT-VALUE})")
    int concurrency;

    @Option(names = "--blocks", defaultValue = "20", description = "blocks to produce (default: ${DEFAULT-VALUE})")
    int blocks;

    @Option(names = "--txs", defaultValue = "32", description = "transactions per block (default: ${DEFAULT-VALUE})")
    int txPerBlock;

    @Option(names = "--accounts", defaultValue = "200", description = "funded accounts (default: ${DEFAULT-VALUE})")
    int accounts;

    @Option(names = "--batch", defaultValue = "5", description = "blocks per batch proof (default: ${DEFAULT-VALUE})")
    int blocksPerBatch;

    @Option(names = "--seed", defaultValue = "42", description = "workload seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--proving-work", description = "SHA-256 iterations per proof (default: prover.appchain.proving-work of run.conf)")
    Long provingWork;

    @Option(names = "--crash-every", defaultValue = "0",
        description = "drill: every Nth proving compute crashes its worker, which restarts (0: never)")
    long crashEvery;

    @Override
    public Integer call() {
      Config config = ConfigFactory.load("single-jvm");
      AppchainSettings settings = AppchainSettings.fromConfig(config);
      if (provingWork != null) {
        settings = settings.withProvingWork(provingWork);
      }
      System.out.printf("starting: 1 sequencer, local queue, %d worker(s) x %d; %d blocks x %d txs, seed %d, "
              + "proving-work %d%s%n",
          workers, concurrency, blocks, txPerBlock, seed, settings.provingWork(),
          crashEvery > 0 ? ", a crash every " + crashEvery + " proving computes" : "");
      long start = System.nanoTime();
      try (ProverNode node = ProverNode.builder("appchain")
          .config(config)
          .catalog(AppchainJob.catalog(crashEvery))
          .localQueue()
          .sequencer(AppchainJob.startupPlan(settings))
          .workers(WorkerGroup.allTypes(workers, concurrency))
          .start()) {
        node.ready().toCompletableFuture().join();
        System.out.printf("ready in %d ms: circuits compiled, %d worker(s) registered and prepared%n",
            (System.nanoTime() - start) / 1_000_000, workers);
        AppchainJob.Summary summary = AppchainJob.run(
            node, settings, new AppchainJob.Options(accounts, blocks, txPerBlock, blocksPerBatch, seed), System.out);
        System.out.print(summary.render());
        return summary.ok() ? 0 : 1;
      }
    }
  }
}
