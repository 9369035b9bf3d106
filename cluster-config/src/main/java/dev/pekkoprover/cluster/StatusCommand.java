package dev.pekkoprover.cluster;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A running node's status (from its HTTP endpoint) as tables. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Print a running node's status as tables: workers (state, class, load, done, failed, restarts, "
            + "last heard from), queues, flows, the autoscaling signal and recent failures. Any node of a cluster "
            + "answers for the whole fleet.")
final class StatusCommand implements Callable<Integer> {
  @Option(
      names = "--node",
      description =
          "the node's HTTP address, host:port, as printed at its start ('endpoints of node ...')")
  String node;

  @Option(names = "--json", description = "print the JSON the node answered instead of tables")
  boolean json;

  @Option(
      names = "--token-file",
      defaultValue = "${env:PROVER_HTTP_TOKEN_FILE}",
      description =
          "a file holding the node's bearer token, its prover.http.token-file (default: "
              + "$PROVER_HTTP_TOKEN_FILE; none: no token)")
  java.nio.file.Path tokenFile;

  @Option(
      names = "--https",
      description = "HTTPS (also when --node is an https:// URL or --ca is given)")
  boolean https;

  @Option(
      names = "--ca",
      description =
          "the PEM CA certificate that signed the node's certificate (the cluster CA, prover.tls"
              + ".ca-cert-file; default: the JDK's trusted roots)")
  java.nio.file.Path ca;

  @Override
  public Integer call() {
    return StatusClient.run(
        node, json, new StatusClient.Access(tokenFile, https, ca), System.out, System.err);
  }
}
