package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.Wallet;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Signs one transfer with a wallet of the service's seeded genesis and prints the body of {@code
 * POST /appchain/transactions}, so that the API can be tried with curl: the genesis wallets' keys
 * come from the service's {@code --seed} through Java's seeded generator ({@link Workload}) and
 * cannot be derived outside the JVM. {@code --list} prints the genesis wallets and balances.
 */
@Command(
    name = "transfer",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Sign a transfer from a wallet of the appchain service's seeded genesis and print the JSON "
            + "body for POST /appchain/transactions (curl -d @- ...); --list prints the wallets.")
final class TransferCommand implements Callable<Integer> {
  private static final Pattern ADDRESS = Pattern.compile("[0-9a-f]{64}");

  @Mixin ServiceGenesis genesisOptions = new ServiceGenesis();

  @Option(names = "--list", description = "print the genesis wallets: index, address, balance")
  boolean list;

  @Option(names = "--from", description = "the sending wallet's index (see --list)")
  Integer from;

  @Option(
      names = "--to",
      description = "the receiving wallet's index, or any address (64 lower-case hex digits)")
  String to;

  @Option(names = "--amount", description = "whole units to send")
  Long amount;

  @Option(
      names = "--nonce",
      description =
          "the sender's next nonce: 0 for its first transfer, then pendingNonce of GET"
              + " /appchain/accounts/<address>")
  Long nonce;

  @Override
  public Integer call() {
    return run(System.out, System.err);
  }

  int run(PrintStream out, PrintStream err) {
    Workload genesis;
    try {
      genesis = genesisOptions.workload();
    } catch (IllegalArgumentException e) {
      err.println("transfer: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
    List<Wallet> wallets = genesis.wallets();
    Map<String, Long> balances = genesis.genesis();
    if (list) {
      for (int i = 0; i < wallets.size(); i++) {
        String address = wallets.get(i).address();
        out.printf("%d %s %d%n", i, address, balances.getOrDefault(address, 0L));
      }
      return 0;
    }
    if (from == null || to == null || amount == null || nonce == null) {
      err.println("transfer: give --from, --to, --amount and --nonce (or --list)");
      return NodeLauncher.USAGE_EXIT;
    }
    if (from < 0 || from >= wallets.size()) {
      err.println(
          "transfer: --from "
              + from
              + " is not a wallet of "
              + genesisOptions
              + " (0 to "
              + (wallets.size() - 1)
              + ")");
      return NodeLauncher.USAGE_EXIT;
    }
    String receiver;
    if (ADDRESS.matcher(to).matches()) {
      receiver = to;
    } else {
      int index;
      try {
        index = Integer.parseInt(to);
      } catch (NumberFormatException e) {
        index = -1;
      }
      if (index < 0 || index >= wallets.size()) {
        err.println(
            "transfer: --to "
                + to
                + " is neither a wallet index (0 to "
                + (wallets.size() - 1)
                + ") nor an address (64 lower-case hex digits)");
        return NodeLauncher.USAGE_EXIT;
      }
      receiver = wallets.get(index).address();
    }
    out.println(AppchainClient.body(wallets.get(from).transfer(receiver, amount, nonce)));
    return 0;
  }
}
