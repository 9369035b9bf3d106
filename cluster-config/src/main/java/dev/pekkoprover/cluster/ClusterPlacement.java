package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a cluster node of the launcher's {@code node} command sits: its roles, the address it binds
 * and advertises, and the seeds it joins through, checked before anything starts and turned into
 * Pekko settings. The settings are built as values ({@link ConfigFactory#parseMap}), never as HOCON
 * text, so that no host or cluster name needs quoting.
 */
final class ClusterPlacement {
  private ClusterPlacement() {}

  /**
   * The placement as configuration: {@code pekko.cluster.roles}, {@code
   * pekko.remote.artery.canonical.hostname} and {@code port}, and {@code pekko.cluster.seed-nodes}
   * as {@code pekko://<clusterName>@<seed>} ({@code seeds} empty: this node itself, which starts a
   * new cluster).
   *
   * @param seeds {@code host:port} entries, checked with {@link #invalidSeed}
   */
  static Config config(
      List<String> roles, String host, int port, List<String> seeds, String clusterName) {
    List<String> seedAddresses = new ArrayList<>();
    for (String seed : seeds.isEmpty() ? List.of(host + ":" + port) : seeds) {
      seedAddresses.add("pekko://" + clusterName + "@" + seed.trim());
    }
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("pekko.cluster.roles", List.copyOf(roles));
    settings.put("pekko.remote.artery.canonical.hostname", host);
    settings.put("pekko.remote.artery.canonical.port", port);
    settings.put("pekko.cluster.seed-nodes", seedAddresses);
    return ConfigFactory.parseMap(
        settings, "the node command's --roles, --host, --port and --seeds");
  }

  /**
   * Why a {@code --seeds} entry is no seed address, or null when every one is {@code host:port} (an
   * IPv6 host in brackets, {@code [::1]:2551}) with a port of 1 to 65535.
   */
  static String invalidSeed(List<String> seeds) {
    for (String seed : seeds) {
      java.util.regex.Matcher address =
          java.util.regex.Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[^\\s:\\[\\]]+):(\\d{1,5})")
              .matcher(seed.trim());
      if (!address.matches()
          || Integer.parseInt(address.group(2)) < 1
          || Integer.parseInt(address.group(2)) > 65535) {
        return "--seeds entry '"
            + seed.trim()
            + "' is not host:port (e.g. 127.0.0.1:2551): give the address and "
            + "cluster port (--port) of each seed node, the same list on every node";
      }
    }
    return null;
  }

  /**
   * Why this node cannot take a port of its own (the cluster's, {@code option} {@code --port}, or
   * the HTTP endpoints', {@code --http-port}), or null when it is free. Checked before the actor
   * system starts, whose own failure is about 100 lines of stack trace around the cause; another
   * process may still take the port in between, then that failure stands.
   */
  static String portInUse(String host, int port, String option) {
    if (port == 0) {
      return null;
    }
    try (java.net.ServerSocket socket = new java.net.ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new java.net.InetSocketAddress(host, port));
      return null;
    } catch (java.net.BindException e) {
      return "port "
          + port
          + " on "
          + host
          + " is in use (another node or program has it): give this node another "
          + option
          + " ("
          + e.getMessage()
          + ")";
    } catch (java.io.IOException e) {
      return "cannot bind "
          + host
          + ":"
          + port
          + " ("
          + e.getMessage()
          + "): check "
          + option.replace("port", "host")
          + ", which must be an address "
          + "of this machine";
    }
  }
}
