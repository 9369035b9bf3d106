package dev.pekkoprover.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.node.EndpointsRefusedException;
import dev.pekkoprover.node.StatusReport;
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
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLException;

/**
 * {@code prover-node status --node host:port}: fetches a node's {@code /status} and prints it as
 * tables (or as the JSON it got), over HTTPS and with the node's bearer token when asked ({@link
 * Access}). Bad input, a node that does not answer and a refused token each get one line on stderr
 * and a non-zero exit code.
 */
final class StatusClient {
  private StatusClient() {}

  /** Exit code for input that cannot be an address. */
  static final int BAD_INPUT = 2;

  /** Exit code for a node that does not answer, or answers something else than a status. */
  static final int NO_STATUS = 1;

  /**
   * Generous: the node itself waits up to prover.http.status-timeout (5 s) for the queue and the
   * sequencer.
   */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(15);

  /**
   * How to reach a guarded node.
   *
   * @param tokenFile the file holding the node's bearer token (its {@code prover.http.token-file}),
   *     or null
   * @param https HTTPS even when {@code --node} has no {@code https://}
   * @param caFile the PEM CA certificate to trust for the node's certificate, or null for the JDK's
   *     roots
   */
  record Access(Path tokenFile, boolean https, Path caFile) {
    static final Access NONE = new Access(null, false, null);
  }

  static int run(String node, boolean json, PrintStream out, PrintStream err) {
    return run(node, json, Access.NONE, out, err);
  }

  static int run(String node, boolean json, Access access, PrintStream out, PrintStream err) {
    GuardedNode guarded;
    try {
      guarded = GuardedNode.open(node, access, HttpClient.Version.HTTP_2);
    } catch (IllegalArgumentException | EndpointsRefusedException e) {
      err.println("status: " + e.getMessage());
      return BAD_INPUT;
    }
    URI uri = guarded.uri("/status");
    String token = guarded.token();
    Duration connectTimeout = guarded.connectTimeout();
    HttpRequest.Builder request = guarded.request("/status", REQUEST_TIMEOUT).GET();
    HttpResponse<String> response;
    try {
      response = guarded.client().send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpConnectTimeoutException e) {
      err.println(
          "status: nothing answered at "
              + uri
              + " within "
              + connectTimeout.toSeconds()
              + " s: is the host "
              + "reachable, and is this the node's HTTP port (printed at its start: 'endpoints of node ...')?");
      return NO_STATUS;
    } catch (HttpTimeoutException e) {
      err.println(
          "status: "
              + uri
              + " accepted the connection but sent no status within "
              + REQUEST_TIMEOUT.toSeconds()
              + " s");
      return NO_STATUS;
    } catch (ConnectException | UnresolvedAddressException e) {
      err.println(
          "status: nothing is listening at "
              + uri
              + " ("
              + describe(e)
              + "): is the node running, and is "
              + "this its HTTP port (printed at its start: 'endpoints of node ...')?");
      return NO_STATUS;
    } catch (SSLException e) {
      err.println(
          "status: no TLS connection to "
              + uri
              + " ("
              + describe(e)
              + "): give the CA that signed the "
              + "node's certificate with --ca <file>, and a host the certificate names");
      return NO_STATUS;
    } catch (IOException e) {
      err.println(
          "status: could not read "
              + uri
              + ": "
              + describe(e)
              + ("http".equals(uri.getScheme())
                  ? " (if the node serves HTTPS: --https; if this is its cluster --port, not its"
                      + " HTTP port: the HTTP port is in its 'endpoints of node ...' line)"
                  : ""));
      return NO_STATUS;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("status: interrupted");
      return NO_STATUS;
    }
    if (response.statusCode() == 401) {
      err.println(
          "status: "
              + uri
              + " needs authentication (HTTP 401): give the node's token with --token-file "
              + "<file> (or PROVER_HTTP_TOKEN_FILE)"
              + (token == null ? "" : "; the node says: " + firstLine(response)));
      return NO_STATUS;
    }
    if (response.statusCode() == 403) {
      err.println(
          "status: "
              + uri
              + " refused the token of "
              + access.tokenFile()
              + " (HTTP 403): it is not the "
              + "node's prover.http.token-file");
      return NO_STATUS;
    }
    String starting = response.statusCode() == 503 ? startingReason(response.body()) : null;
    if (starting != null) { // a node that waits before it can start (WaitingEndpoints)
      err.println("status: the node at " + uri + " has not started yet: " + starting);
      return NO_STATUS;
    }
    String error = response.statusCode() == 503 ? errorOf(response.body()) : null;
    if (error != null) { // a node that shuts down, or could not gather its status
      err.println("status: the node at " + uri + " answered HTTP 503: " + error);
      return NO_STATUS;
    }
    if (response.statusCode() != 200) {
      err.println(
          "status: "
              + uri
              + " answered HTTP "
              + response.statusCode()
              + ", not a node status: is this a "
              + "prover node's HTTP port?");
      return NO_STATUS;
    }
    if (json) {
      out.println(response.body());
      return 0;
    }
    StatusReport report;
    try {
      report = StatusReport.fromJson(response.body());
    } catch (IOException e) {
      err.println(
          "status: " + uri + " answered something that is not a node status (" + describe(e) + ")");
      return NO_STATUS;
    }
    out.print(StatusTables.render(report));
    return 0;
  }

  /** {@code host:port}, or a URL {@code http://host:port[/status]}, as the status URL. */
  static URI statusUri(String node) {
    return statusUri(node, false);
  }

  /**
   * {@code host:port}, or a URL {@code http[s]://host:port[/status]}, as the status URL: HTTPS when
   * the URL says so or {@code https}.
   */
  static URI statusUri(String node, boolean https) {
    return URI.create(GuardedNode.baseUri(node, https) + "/status");
  }

  /**
   * The reason in a waiting node's answer, {@code {"starting": true, "reason": ...}}; null for any
   * other body.
   */
  static String startingReason(String body) {
    try {
      JsonNode answer = new ObjectMapper().readTree(body);
      return answer != null && answer.path("starting").asBoolean(false)
          ? answer.path("reason").asText("")
          : null;
    } catch (IOException e) {
      return null;
    }
  }

  /** The {@code error} of a node's JSON answer ({@code /status} in its last second), or null. */
  static String errorOf(String body) {
    try {
      JsonNode answer = new ObjectMapper().readTree(body);
      return answer != null && answer.path("error").isTextual()
          ? answer.path("error").asText()
          : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static String firstLine(HttpResponse<String> response) {
    return response.body().lines().findFirst().orElse("").strip();
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
