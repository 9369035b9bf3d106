package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.node.EndpointsRefusedException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The runnable artifact: {@code java -jar prover-node.jar <command>}. */
@Command(
    name = "prover-node",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description = "Distributed proving-task framework: sequencer, task queue and workers on Pekko.",
    subcommands = {
      RunCommand.class,
      NodeCommand.class,
      StatusCommand.class,
      KeysCommand.class,
      LoadCommand.class,
      TransferCommand.class
    })
public final class NodeLauncher {

  public static void main(String[] args) {
    // SLF4J binds its provider here, on one thread, before Pekko starts any: when a second thread
    // logs while the first still initialises, SLF4J replays that call and prints a three-line
    // "replay" warning at every start.
    LoggerFactory.getILoggerFactory();
    System.exit(commandLine().execute(args));
  }

  /**
   * The command line with its handler of refused configurations: an {@link
   * EndpointsRefusedException} (e.g. remote HTTP endpoints without TLS) is one line on stderr and
   * exit code {@link EndpointsRefusedException#EXIT_CODE}, not a stack trace.
   */
  static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new NodeLauncher());
    commandLine.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof EndpointsRefusedException refused) {
              line.getErr().println("prover-node: " + refused.getMessage());
              return EndpointsRefusedException.EXIT_CODE;
            }
          }
          throw e;
        });
    commandLine.setParameterExceptionHandler(NodeLauncher::badArguments);
    return commandLine;
  }

  /**
   * A command line picocli cannot parse: its message (with picocli's suggestions for an unknown
   * option) and where the options are listed, instead of the whole usage (over 100 lines for {@code
   * node}) under it. {@code --seed} given seed nodes gets the option they belong to.
   *
   * @return {@link #USAGE_EXIT}
   */
  static int badArguments(CommandLine.ParameterException e, String[] args) {
    CommandLine command = e.getCommandLine();
    java.io.PrintWriter err = command.getErr();
    String hint = "";
    if (e.getArgSpec() instanceof CommandLine.Model.OptionSpec option
        && java.util.Arrays.asList(option.names()).contains("--seed")
        && e.getValue() != null
        && e.getValue().contains(":")) {
      hint =
          " (--seed is the genesis seed, a number; seed nodes go in --seeds host:port[,host:port])";
    }
    err.println("prover-node: " + e.getMessage() + hint);
    CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
    err.println("The options: " + command.getCommandSpec().qualifiedName() + " --help");
    return USAGE_EXIT;
  }

  /** Where a node serves its HTTP endpoints (metrics, status, health) and who may read them. */
  static final class HttpOptions {
    @Option(
        names = "--http-host",
        description =
            "address of the HTTP endpoints (default: prover.http.host, 127.0.0.1: this machine only; "
                + "0.0.0.0 for a scraper or probe on another host, which needs --http-tls and --http-token-file)")
    String host;

    @Option(
        names = "--http-tls",
        description =
            "serve the HTTP endpoints over HTTPS with the node's PEM key and certificate (prover.tls.key-file "
                + "and cert-file); clients with a certificate from prover.tls.ca-cert-file need no token")
    boolean tls;

    @Option(
        names = "--http-token-file",
        defaultValue = "${env:PROVER_HTTP_TOKEN_FILE}",
        description =
            "a file holding the bearer token every request to the HTTP endpoints must carry (default: "
                + "$PROVER_HTTP_TOKEN_FILE, else prover.http.token-file; none: no token)")
    String tokenFile;

    @Option(
        names = "--http-port",
        description =
            "port of the HTTP endpoints: 0 a free one, printed at start-up; -1 none (default: "
                + "prover.http.port, 0)")
    Integer port;

    /** {@code config} with the options given laid over it ({@code prover.http.*}). */
    Config apply(Config config) {
      Map<String, Object> overrides = new LinkedHashMap<>();
      if (host != null) {
        overrides.put("prover.http.host", host);
      }
      if (tls) {
        overrides.put("prover.http.https", true);
      }
      if (tokenFile != null && !tokenFile.isBlank()) {
        overrides.put("prover.http.token-file", tokenFile);
      }
      if (port != null && port < 0) {
        overrides.put("prover.http.enabled", false);
      } else if (port != null) {
        overrides.put("prover.http.port", port);
      }
      return ConfigFactory.parseMap(overrides, "the HTTP options").withFallback(config);
    }

    /**
     * Why the HTTP endpoints of {@code config} (with these options applied) cannot take their fixed
     * port, or null when they are off, on a free port (0) or their port is free; checked before the
     * actor system starts.
     */
    static String portInUse(Config config) {
      if (!config.getBoolean("prover.http.enabled") || config.getInt("prover.http.port") == 0) {
        return null;
      }
      return ClusterPlacement.portInUse(
          config.getString("prover.http.host"), config.getInt("prover.http.port"), "--http-port");
    }
  }

  /**
   * Options of the appchain job, shared by the embedded run and a cluster node with the sequencer
   * role.
   */
  static final class JobOptions {
    @Option(
        names = "--blocks",
        defaultValue = "20",
        description = "blocks to produce (default: ${DEFAULT-VALUE})")
    int blocks;

    @Option(
        names = "--txs",
        defaultValue = "32",
        description = "transactions per block (default: ${DEFAULT-VALUE})")
    int txPerBlock;

    @Option(
        names = "--accounts",
        defaultValue = "200",
        description = "funded accounts (default: ${DEFAULT-VALUE})")
    int accounts;

    @Option(
        names = "--batch",
        defaultValue = "5",
        description = "blocks per batch proof (default: ${DEFAULT-VALUE})")
    int blocksPerBatch;

    @Option(
        names = "--seed",
        defaultValue = "42",
        description = "workload seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(
        names = "--service",
        description =
            "run the appchain as a long-running service instead of the bounded job: transactions over "
                + "HTTP (POST /appchain/transactions on the node's HTTP port), a block every --block-interval "
                + "of at most --txs transactions, proven in batches of --batch blocks, until stopped; genesis "
                + "from --seed and --accounts (what `prover-node load` signs with)")
    boolean service;

    @Option(
        names = "--block-interval",
        description =
            "with --service: a block this often while transactions are pending, e.g. 500ms or 2s "
                + "(default: prover.appchain-service.block-interval, 1s)")
    String blockInterval;

    @Option(
        names = "--proving-work",
        description =
            "SHA-256 iterations per proof (default: prover.appchain.proving-work of the configuration)")
    Long provingWork;

    AppchainJob.Options options() {
      return new AppchainJob.Options(accounts, blocks, txPerBlock, blocksPerBatch, seed);
    }

    /**
     * Null, or why these options do not go together (for a one-line refusal): an option of the
     * service given without {@code --service}, which the bounded job would silently ignore.
     */
    String misuse() {
      if (blockInterval != null && !service) {
        return "--block-interval is an option of --service (the bounded job makes its blocks "
            + "without waiting): add --service, or leave --block-interval out";
      }
      return null;
    }

    AppchainSettings settings(Config config) {
      AppchainSettings settings = AppchainSettings.fromConfig(config);
      return provingWork == null ? settings : settings.withProvingWork(provingWork);
    }

    /**
     * The options as the appchain plugin's settings ({@code prover.appchain-job}, {@code
     * prover.appchain}).
     */
    Config config(long crashEvery) {
      Map<String, Object> settings = new LinkedHashMap<>();
      settings.put("prover.appchain-job.accounts", accounts);
      settings.put("prover.appchain-job.blocks", blocks);
      settings.put("prover.appchain-job.txs", txPerBlock);
      settings.put("prover.appchain-job.batch", blocksPerBatch);
      settings.put("prover.appchain-job.seed", seed);
      settings.put("prover.appchain-job.crash-every", crashEvery);
      settings.put("prover.appchain-job.service", service);
      if (blockInterval != null) {
        settings.put("prover.appchain-service.block-interval", blockInterval);
      }
      if (provingWork != null) {
        settings.put("prover.appchain.proving-work", provingWork);
      }
      return ConfigFactory.parseMap(settings, "the appchain job's options");
    }
  }

  /**
   * {@code --version}: this build's version (from the runnable jar's manifest), Pekko's and Java's.
   */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = NodeLauncher.class.getPackage().getImplementationVersion();
      return new String[] {
        "prover-node "
            + (version == null ? "(version unknown: not run from prover-node.jar)" : version)
            + ", Apache Pekko "
            + org.apache.pekko.Version.current()
            + ", Java "
            + Runtime.version()
      };
    }
  }

  /**
   * The default cluster name: the actor system's name, in seed addresses {@code
   * pekko://prover@host:port}.
   */
  static final String SYSTEM = "prover";

  /**
   * Exit code of a command that refuses to start (picocli's code for bad usage): the printed line
   * says why.
   */
  static final int USAGE_EXIT = 2;

  static final String WORKER_ROLE = "worker";
}
