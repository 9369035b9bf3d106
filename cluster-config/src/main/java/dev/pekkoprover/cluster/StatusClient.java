package dev.pekkoprover.cluster;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;

/**
 * {@code prover-node status --node host:port}: fetches a node's {@code /status} and prints it as tables (or as the
 * JSON it got). Bad input and a node that does not answer each get one line on stderr and a non-zero exit code.
 */
final class StatusClient {
  private StatusClient() {}

  /** Exit code for input that cannot be an address. */
  static final int BAD_INPUT = 2;
  /** Exit code for a node that does not answer, or answers something else than a status. */
  static final int NO_STATUS = 1;

  /** Generous: the node itself waits up to prover.http.status-timeout (5 s) for the queue and the sequencer. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

  static int run(String node, boolean json, PrintStream out, PrintStream err) {
    URI uri;
    try {
      uri = statusUri(node);
    } catch (IllegalArgumentException e) {
      err.println("status: " + e.getMessage());
      return BAD_INPUT;
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    HttpResponse<String> response;
    try {
      response = client.send(HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      err.println("status: nothing answered at " + uri + " within 3 s: is the host reachable, and is this the node's "
          + "HTTP port (printed at its start: 'endpoints of node ...')?");
      return NO_STATUS;
    } catch (HttpTimeoutException e) {
      err.println("status: " + uri + " accepted the connection but sent no status within "
          + REQUEST_TIMEOUT.toSeconds() + " s");
      return NO_STATUS;
    } catch (ConnectException | UnresolvedAddressException e) {
      err.println("status: nothing is listening at " + uri + " (" + describe(e) + "): is the node running, and is "
          + "this its HTTP port (printed at its start: 'endpoints of node ...')?");
      return NO_STATUS;
    } catch (IOException e) {
      err.println("status: could not read " + uri + ": " + describe(e));
      return NO_STATUS;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("status: interrupted");
      return NO_STATUS;
    }
    if (response.statusCode() != 200) {
      err.println("status: " + uri + " answered HTTP " + response.statusCode() + ", not a node status: is this a "
          + "prover node's HTTP port?");
      return NO_STATUS;
    }
    if (json) {
      out.println(response.body());
      return 0;
    }
    StatusReport report;
    try {
      report = NodeEndpoints.JSON.readValue(response.body(), StatusReport.class);
    } catch (IOException e) {
      err.println("status: " + uri + " answered something that is not a node status (" + describe(e) + ")");
      return NO_STATUS;
    }
    out.print(StatusTables.render(report));
    return 0;
  }

  /** {@code host:port}, or a URL {@code http://host:port[/status]}, as the status URL. */
  static URI statusUri(String node) {
    if (node == null || node.isBlank()) {
      throw new IllegalArgumentException("give the node's HTTP address: --node host:port (printed at its start: "
          + "'endpoints of node ...')");
    }
    String address = node.trim();
    if (address.startsWith("http://")) {
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
      throw new IllegalArgumentException("--node must be host:port, the node's HTTP address (printed at its start: "
          + "'endpoints of node ...'), got '" + node + "'");
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--node must be host:port with a numeric port, got '" + node + "'");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--node port must be 1 to 65535, got " + port);
    }
    try {
      return URI.create("http://" + address + "/status");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--node must be host:port, got '" + node + "'");
    }
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
