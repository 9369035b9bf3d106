package dev.pekkoprover.cluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** A test's HTTP client for a node's endpoints, and a reader of Prometheus text. */
final class Http {
  private Http() {}

  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

  record Answer(int status, String body) {}

  static Answer get(String url) {
    return get(CLIENT, url);
  }

  /** {@link #get} over HTTPS, trusting {@code tls}'s roots, on a connection of its own. */
  static Answer get(String url, SSLContext tls) {
    return get(
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).sslContext(tls).build(), url);
  }

  private static Answer get(HttpClient client, String url) {
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      return new Answer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new AssertionError("GET " + url + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** The certificate an HTTPS server presents on a new connection, verified by {@code tls}. */
  static X509Certificate serverCertificate(int port, SSLContext tls) {
    try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    } catch (IOException e) {
      throw new AssertionError("TLS handshake with 127.0.0.1:" + port + " failed: " + e, e);
    }
  }

  /**
   * The value of one series in Prometheus text, e.g. {@code
   * prover_tasks_completed_total{entity="local", task_type="square"}} (labels as Micrometer writes
   * them, sorted by name); 0 when the series is not there.
   */
  static double value(String text, String series) {
    Matcher m =
        Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /**
   * The sum of every series of a metric whose labels contain all of {@code labels} (e.g. {@code
   * task_type="a"}).
   */
  static double sum(String text, String metric, String... labels) {
    double sum = 0;
    Matcher m =
        Pattern.compile("^" + Pattern.quote(metric) + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE)
            .matcher(text);
    while (m.find()) {
      boolean all = true;
      for (String label : labels) {
        all &= m.group(1).contains(label);
      }
      if (all) {
        sum += Double.parseDouble(m.group(2));
      }
    }
    return sum;
  }
}
