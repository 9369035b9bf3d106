package dev.pekkoprover.cluster;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.Wallet;
import dev.pekkoprover.node.EndpointsRefusedException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code prover-node load}: drives a running appchain service with signed transfers at a fixed
 * rate, from the same seeded dev wallets as the service's genesis ({@code --seed}, {@code
 * --accounts}), and checks every answer; see {@link LoadRun}.
 */
@Command(
    name = "load",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Submit signed transfers to a running appchain service (a sequencer node started with --service) "
            + "at a fixed rate and check its answers: every --invalid-every-th transfer is invalid and must be "
            + "refused with its reason; transfers whose answer is lost (the service restarted) are resolved by "
            + "their status. Prints progress every 5 s and a summary of parsable 'load: key=value' lines; exit "
            + "code 0 when every answer matched (and every accepted transfer was proven, with --wait-proven), 1 "
            + "otherwise, 2 for bad input.")
final class LoadCommand implements Callable<Integer> {
  /**
   * How long a silent service gets to answer: at the start (a service still recovering its
   * journal), and after the window for transfers of unknown fate.
   */
  static final Duration RESOLVE_WAIT = Duration.ofSeconds(30);

  @Option(
      names = "--node",
      description =
          "the service node's HTTP address, host:port, as printed at its start ('endpoints of node ...')")
  String node;

  @Option(names = "--rate", description = "transfers per second to submit (above 0)")
  Double rate;

  @Option(
      names = "--duration",
      defaultValue = "30s",
      description = "how long to submit: 500ms, 30s, 5m... (default: ${DEFAULT-VALUE})")
  String duration;

  @Mixin ServiceGenesis genesisOptions = new ServiceGenesis();

  @Option(
      names = "--invalid-every",
      defaultValue = "0",
      description =
          "every n-th transfer is invalid (bad signature, bad nonce, overdraft in turn) and must be refused "
              + "with that reason; 0 for none (default: ${DEFAULT-VALUE})")
  int invalidEvery;

  @Option(
      names = "--record",
      description =
          "append every accepted transfer to this file, one JSON line each: hash, from, to, amount, nonce, "
              + "signature, submittedAtMillis")
  Path record;

  @Option(
      names = "--wait-proven",
      description =
          "after submitting, wait up to this long (e.g. 60s) until every accepted transfer is proven, and "
              + "print the latency from submission to proof")
  String waitProven;

  @Option(
      names = "--token-file",
      defaultValue = "${env:PROVER_HTTP_TOKEN_FILE}",
      description =
          "a file holding the node's bearer token, its prover.http.token-file (default: "
              + "$PROVER_HTTP_TOKEN_FILE; none: no token)")
  Path tokenFile;

  @Option(
      names = "--https",
      description = "HTTPS (also when --node is an https:// URL or --ca is given)")
  boolean https;

  @Option(
      names = "--ca",
      description =
          "the PEM CA certificate that signed the node's certificate (the cluster CA, prover.tls"
              + ".ca-cert-file; default: the JDK's trusted roots)")
  Path ca;

  Duration resolveWait = RESOLVE_WAIT;

  @Override
  public Integer call() throws InterruptedException {
    return run(System.out, System.err);
  }

  int run(PrintStream out, PrintStream err) throws InterruptedException {
    LoadRun.Settings settings;
    GuardedNode guarded;
    Workload genesis;
    try {
      if (rate == null || !(rate > 0) || rate.isInfinite()) {
        throw new IllegalArgumentException(
            "give the transfers per second to submit: --rate R with R above 0"
                + (rate == null ? "" : ", got " + rate));
      }
      Duration window = duration("--duration", duration);
      Duration proven = waitProven == null ? null : duration("--wait-proven", waitProven);
      if (invalidEvery < 0 || invalidEvery == 1) {
        throw new IllegalArgumentException(
            "--invalid-every must be 0 (none) or at least 2, got " + invalidEvery);
      }
      settings =
          new LoadRun.Settings(
              rate,
              window,
              invalidEvery,
              record,
              proven,
              proven == null ? resolveWait : max(proven));
      guarded =
          GuardedNode.open(
              node, new StatusClient.Access(tokenFile, https, ca), HttpClient.Version.HTTP_1_1);
      genesis = genesisOptions.workload();
    } catch (IllegalArgumentException | EndpointsRefusedException e) {
      err.println("load: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    AppchainClient client = new AppchainClient(guarded);
    Map<String, Long> balances = genesis.genesis();
    try {
      AppchainClient.ChainView chain = firstChainView(client, err);
      String expected =
          Chain.create(balances, AppchainSettings.fromConfig(ConfigFactory.defaultReference()))
              .genesisStateRoot();
      if (chain.genesisStateRoot() != null && !chain.genesisStateRoot().equals(expected)) {
        err.println(
            "load: the service's genesis (state root "
                + chain.genesisStateRoot()
                + ") is not that of "
                + genesisOptions
                + ": give the node's --seed and --accounts");
        return NodeLauncher.USAGE_EXIT;
      }
    } catch (AppchainClient.UnavailableException e) {
      err.println(
          "load: "
              + e.getMessage()
              + ("http".equals(guarded.base().getScheme())
                  ? " (if the node serves HTTPS: --https; if this is its cluster --port, not its"
                      + " HTTP port: the HTTP port is in its 'endpoints of node ...' line)"
                  : ""));
      return 1;
    } catch (AppchainClient.AnswerException e) {
      err.println("load: " + e.getMessage());
      return 1;
    }
    List<Wallet> funded = new ArrayList<>();
    for (Wallet wallet : genesis.wallets()) {
      if (balances.containsKey(wallet.address())) {
        funded.add(wallet);
      }
    }
    return new LoadRun(settings, client, genesis.wallets(), funded, genesisOptions.seed, out, err)
        .run();
  }

  /**
   * The chain's view, read again every {@link LoadRun#POLL_EVERY} while the service is {@link
   * AppchainClient.UnavailableException#busy busy} (HTTP 503 while it recovers its journal right
   * after its start, a timeout on a busy machine), for at most the resolve wait; any other failure
   * (a refused connection, another protocol) fails at once. One line on {@code err} when it waits.
   */
  private AppchainClient.ChainView firstChainView(AppchainClient client, PrintStream err)
      throws AppchainClient.UnavailableException, InterruptedException {
    long deadline = System.nanoTime() + resolveWait.toNanos();
    boolean said = false;
    while (true) {
      try {
        return client.chain();
      } catch (AppchainClient.UnavailableException e) {
        if (!e.busy() || System.nanoTime() >= deadline) {
          throw e;
        }
        if (!said) {
          err.println(
              "load: "
                  + e.getMessage()
                  + "; waiting up to "
                  + LoadTally.seconds(resolveWait)
                  + " for the service");
          said = true;
        }
        Thread.sleep(LoadRun.POLL_EVERY.toMillis());
      }
    }
  }

  private Duration max(Duration proven) {
    return proven.compareTo(resolveWait) > 0 ? proven : resolveWait;
  }

  /**
   * A duration with a unit, as HOCON writes them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code
   * 1.5 s}.
   */
  static Duration duration(String option, String value) {
    String text = value == null ? "" : value.strip();
    if (text.isEmpty() || !Character.isLetter(text.charAt(text.length() - 1))) {
      throw new IllegalArgumentException(
          option + " needs a duration with a unit (500ms, 30s, 5m), got '" + value + "'");
    }
    Duration parsed;
    try {
      parsed = ConfigFactory.parseMap(Map.of("d", text), option).getDuration("d");
    } catch (ConfigException e) {
      throw new IllegalArgumentException(
          option + " needs a duration with a unit (500ms, 30s, 5m), got '" + value + "'");
    }
    if (parsed.isNegative() || parsed.isZero()) {
      throw new IllegalArgumentException(option + " must be above 0, got '" + value + "'");
    }
    return parsed;
  }
}
