package dev.pekkoprover.cluster;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Makes the certificates of a cluster's mutual TLS ({@link ClusterKeys}). */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    versionProvider = NodeLauncher.Version.class,
    description =
        "Make the certificates for the cluster's mutual TLS: a CA (<out>/ca.crt, <out>/ca.key) and one "
            + "directory per node, <out>/node-<i> with tls.key, tls.crt and ca.crt, for `node --tls <out>/node-<i>`. "
            + "With --ca, issue more or renewed node certificates from an existing CA instead (rotation).")
final class KeysCommand implements Callable<Integer> {
  @Option(
      names = "--out",
      description =
          "directory for the CA (a new one) and the node directories node-<i> (default: --ca's)")
  java.nio.file.Path out;

  @Option(
      names = "--nodes",
      defaultValue = "0",
      description =
          "how many node certificates to issue (at least 1; only --ca <dir> --renew-ca may leave it "
              + "out)")
  int nodes;

  @Option(
      names = "--renew-ca",
      description =
          "with --ca: renew the CA's certificate (same key, 10 more years) into <ca>/ca.crt; node "
              + "certificates stay valid under it, so nodes can take the new ca.crt one at a time")
  boolean renewCa;

  @Option(
      names = "--first",
      defaultValue = "1",
      description =
          "number of the first node directory (default: ${DEFAULT-VALUE}); with --ca, e.g. 4 to add "
              + "nodes 4.. beside nodes 1-3")
  int first;

  @Option(
      names = "--cluster-name",
      description =
          "the cluster's name, as the nodes' --cluster-name; every node certificate names it (default: "
              + "the CA's with --ca, else $PROVER_CLUSTER_NAME, else prover)")
  String clusterName;

  @Option(
      names = "--hosts",
      split = ",",
      description =
          "the nodes' addresses (IP or DNS name) added to their certificates for HTTPS host name checks: "
              + "one for all nodes or one per node (default: 127.0.0.1)")
  List<String> hosts;

  @Option(
      names = "--days",
      defaultValue = "365",
      description =
          "validity of the node certificates in days (default: ${DEFAULT-VALUE}; the CA: 10 years)")
  int days;

  @Option(
      names = "--ca",
      description =
          "directory of an existing CA (ca.crt, ca.key): issue node certificates from it; node "
              + "directories that exist get a new key and certificate (renewal)")
  java.nio.file.Path ca;

  @Override
  public Integer call() {
    if (renewCa && ca == null) {
      System.err.println("keys: --renew-ca renews an existing CA: give its directory with --ca");
      return NodeLauncher.USAGE_EXIT;
    }
    if (nodes < 0 || (nodes == 0 && !renewCa)) {
      System.err.println(
          "keys: give --nodes <n>, how many node certificates to issue: at least 1"
              + (nodes == 0 ? "" : " (was " + nodes + ")")
              + "; only --ca <dir> --renew-ca, which renews the CA's certificate, may leave it out");
      return NodeLauncher.USAGE_EXIT;
    }
    if (first < 1 || days < 1) {
      System.err.printf(
          "keys: %s must be at least 1 (was %d)%n",
          first < 1 ? "--first" : "--days", first < 1 ? first : days);
      return NodeLauncher.USAGE_EXIT;
    }
    if (out == null && ca == null) {
      System.err.println("keys: give --out <dir> for the new CA and node directories");
      return NodeLauncher.USAGE_EXIT;
    }
    if (out == null) {
      out = ca;
    }
    List<String> nodeHosts =
        hosts == null ? List.of("127.0.0.1") : hosts.stream().map(String::trim).toList();
    if (nodeHosts.size() != 1 && nodeHosts.size() != nodes) {
      System.err.printf(
          "keys: --hosts names %d addresses for %d nodes: give one for all or one per node%n",
          nodeHosts.size(), nodes);
      return NodeLauncher.USAGE_EXIT;
    }
    try {
      ClusterKeys keys;
      String name;
      if (ca == null) {
        name = clusterName != null ? clusterName : defaultClusterName();
        String invalid = ClusterKeys.invalidClusterName(name);
        if (invalid != null) {
          System.err.println("keys: " + invalid);
          return NodeLauncher.USAGE_EXIT;
        }
        keys = ClusterKeys.newCa(out, name);
        System.out.printf(
            "CA of cluster '%s': %s, %s%n",
            name, out.resolve(ClusterKeys.CA_CERT_FILE), out.resolve(ClusterKeys.CA_KEY_FILE));
      } else {
        keys = ClusterKeys.loadCa(ca);
        name =
            clusterName != null
                ? clusterName
                : keys.clusterName() != null ? keys.clusterName() : defaultClusterName();
        String invalid = ClusterKeys.invalidClusterName(name);
        if (invalid != null) {
          System.err.println("keys: " + invalid);
          return NodeLauncher.USAGE_EXIT;
        }
        if (renewCa) {
          var renewed = keys.renewCa(ca);
          System.out.printf(
              "renewed %s (same key), valid until %s: copy it to every node's ca.crt (the old one "
                  + "is %s.old); the nodes' certificates stay valid%n",
              ca.resolve(ClusterKeys.CA_CERT_FILE),
              renewed.getNotAfter().toInstant(),
              ca.resolve(ClusterKeys.CA_CERT_FILE));
          keys = ClusterKeys.loadCa(ca);
        }
        if (nodes > 0) {
          System.out.printf("issuing from the CA in %s for cluster '%s'%n", ca, name);
        }
      }
      for (int i = first; i < first + nodes; i++) {
        java.nio.file.Path dir = out.resolve("node-" + i);
        String host = nodeHosts.size() == 1 ? nodeHosts.get(0) : nodeHosts.get(i - first);
        var cert = keys.issueNode(dir, name, i, List.of(host), days);
        System.out.printf(
            "node %d: %s (tls.key, tls.crt, ca.crt), %s, valid until %s: start it with --tls %s%n",
            i, dir, host, cert.getNotAfter().toInstant(), dir);
      }
      if (nodes > 0) {
        System.out.printf(
            "every node certificate names %s, which admits it to cluster '%s' (--cluster-name %s)%n",
            ClusterKeys.clusterSubjectName(name), name, name);
      }
      System.out.println(
          "keep "
              + (ca == null ? out : ca).resolve(ClusterKeys.CA_KEY_FILE)
              + " off the nodes "
              + "(offline, mode 0600): whoever has it can make a node that joins the cluster; it signs renewals and new "
              + "nodes (--ca)");
      return 0;
    } catch (java.io.IOException | IllegalArgumentException e) {
      System.err.println("keys: " + e.getMessage());
      return NodeLauncher.USAGE_EXIT;
    }
  }

  private static String defaultClusterName() {
    String env = System.getenv("PROVER_CLUSTER_NAME");
    return env == null || env.isBlank() ? NodeLauncher.SYSTEM : env;
  }
}
