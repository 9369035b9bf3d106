package dev.pekkoprover.cluster;

import dev.pekkoprover.node.EndpointGuard;
import dev.pekkoprover.node.EndpointsRefusedException;
import dev.pekkoprover.node.HttpsIdentity;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;

/**
 * A node's HTTP server as a client reaches it from {@code --node host:port} and {@link
 * StatusClient.Access}: the base URI (scheme, host and port, no path), the bearer token to send and
 * an HTTP client that trusts the given CA. Shared by {@code status} and {@code load}.
 *
 * @param base {@code http[s]://host:port}, without a path
 * @param token the bearer token every request carries, or null
 * @param connectTimeout the client's connect timeout (it includes the TLS handshake over HTTPS)
 */
record GuardedNode(URI base, String token, HttpClient client, Duration connectTimeout) {

  /** Short: an unreachable host should not keep the operator waiting. */
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);

  /**
   * The connection and the TLS handshake (key exchange, certificate checks, a cold JVM's JSSE
   * set-up).
   */
  static final Duration HTTPS_CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Reads the token file and the CA file of {@code access} and builds the client.
   *
   * @param node {@code host:port}, or a URL {@code http[s]://host:port[/status]}
   * @param version the HTTP version the client speaks (HTTP/1.1 keeps a connection per request in
   *     flight; the JDK's default tries HTTP/2 first)
   * @throws IllegalArgumentException when {@code node} is no address
   * @throws EndpointsRefusedException when the token file or the CA file cannot be read
   */
  static GuardedNode open(String node, StatusClient.Access access, HttpClient.Version version) {
    URI base = baseUri(node, access.https() || access.caFile() != null);
    String token =
        access.tokenFile() == null
            ? null
            : EndpointGuard.readToken(access.tokenFile(), "--token-file");
    HttpClient.Builder builder = HttpClient.newBuilder().version(version);
    if (access.caFile() != null) {
      builder.sslContext(HttpsIdentity.client(access.caFile(), "--ca"));
    }
    // the JDK's client counts the TLS handshake in the connect time: a cold JVM on a busy host can
    // take seconds
    Duration connectTimeout =
        "https".equals(base.getScheme()) ? HTTPS_CONNECT_TIMEOUT : CONNECT_TIMEOUT;
    builder.connectTimeout(connectTimeout);
    return new GuardedNode(base, token, builder.build(), connectTimeout);
  }

  /** The URI of {@code path} (starting with {@code /}) on this node. */
  URI uri(String path) {
    return URI.create(base + path);
  }

  /** A request for {@code path} with the bearer token, if any, and {@code timeout}. */
  HttpRequest.Builder request(String path, Duration timeout) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(timeout);
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return request;
  }

  /**
   * {@code host:port}, or a URL {@code http[s]://host:port[/status]}, as {@code
   * scheme://host:port}: HTTPS when the URL says so or {@code https}.
   *
   * @throws IllegalArgumentException with a message naming {@code --node} when it is no address
   */
  static URI baseUri(String node, boolean https) {
    if (node == null || node.isBlank()) {
      throw new IllegalArgumentException(
          "give the node's HTTP address: --node host:port (printed at its start: "
              + "'endpoints of node ...')");
    }
    String address = node.trim();
    String scheme = https ? "https" : "http";
    if (address.startsWith("https://")) {
      scheme = "https";
      address = address.substring("https://".length());
    } else if (address.startsWith("http://")) {
      if (https) {
        throw new IllegalArgumentException(
            "--node says http:// but --https or --ca asks for HTTPS: use https://");
      }
      address = address.substring("http://".length());
    }
    if (address.endsWith("/status")) {
      address = address.substring(0, address.length() - "/status".length());
    }
    if (address.endsWith("/")) {
      address = address.substring(0, address.length() - 1);
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1 || address.contains("/")) {
      throw new IllegalArgumentException(
          "--node must be host:port, the node's HTTP address (printed at its start: "
              + "'endpoints of node ...'), got '"
              + node
              + "'");
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--node must be host:port with a numeric port, got '" + node + "'");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--node port must be 1 to 65535, got " + port);
    }
    try {
      return URI.create(scheme + "://" + address);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--node must be host:port, got '" + node + "'");
    }
  }
}
