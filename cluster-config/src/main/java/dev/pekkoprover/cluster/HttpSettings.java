package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * The node's HTTP endpoints, read once from {@code prover.http} (defaults and reasons in this module's {@code
 * reference.conf}).
 *
 * @param enabled whether the node serves them
 * @param host the address to bind: loopback unless remote access is wanted
 * @param port 0 for a free port
 * @param statusTimeout how long {@code /status} waits for the queue and the sequencer
 */
public record HttpSettings(boolean enabled, String host, int port, Duration statusTimeout) {

  public HttpSettings {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("prover.http.port must be 0 (a free port) to 65535, was " + port);
    }
  }

  public static HttpSettings fromConfig(Config config) {
    Config http = config.getConfig("prover.http");
    return new HttpSettings(http.getBoolean("enabled"), http.getString("host"), http.getInt("port"),
        http.getDuration("status-timeout"));
  }
}
