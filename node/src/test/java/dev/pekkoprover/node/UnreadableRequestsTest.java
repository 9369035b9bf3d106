package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Bytes that are not HTTP on the node's HTTP port (a node given it as a seed, a TLS client on plain
 * HTTP): answered 400 by the node's own handler, logged once with the likely cause, then at most
 * once a minute with the count, instead of a WARN per connection.
 */
class UnreadableRequestsTest {
  /**
   * What a Pekko node's Artery TCP transport sends first: its magic "AKKA", then binary framing.
   */
  private static final byte[] ARTERY_HELLO = {
    'A', 'K', 'K', 'A', 0x70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '}', '\r', '\n', '\r', '\n'
  };

  /** The start of a TLS ClientHello: a handshake record (0x16), TLS 1.0 record version. */
  private static final byte[] TLS_HELLO = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0, 0, 0x01, 0x03};

  @Test
  void aClusterNodesBytesOnTheHttpPortAreAnswered400AndCountedByTheNodesHandler() throws Exception {
    WaitingEndpoints endpoints =
        WaitingEndpoints.open(
                ConfigFactory.parseString("prover.http.enabled = on\nprover.http.port = 0")
                    .withFallback(ConfigFactory.load()),
                () -> "waiting")
            .orElseThrow();
    try {
      URI base = URI.create(endpoints.base());
      long before = UnreadableRequests.answered();
      String artery = send(base, ARTERY_HELLO);
      assertTrue(artery.startsWith("HTTP/1.1 400 Bad Request"), artery);
      String tls = send(base, TLS_HELLO);
      assertTrue(tls.startsWith("HTTP/1.1 400 Bad Request"), tls);
      // what `echo | openssl s_client` sends after its handshake: a newline, then its end
      String newline = send(base, "\n".getBytes(StandardCharsets.US_ASCII), true);
      assertTrue(newline.startsWith("HTTP/1.1 400 Bad Request"), newline);
      assertEquals(
          before + 3,
          UnreadableRequests.answered(),
          "the node's server hands parse errors to UnreadableRequests (Pekko's default logs each)");
      assertFalse(
          artery.chars().anyMatch(c -> c < 0x20 && c != '\r' && c != '\n'),
          "no raw control bytes echoed: " + artery);
      // an HTTP client's malformed request is Pekko's default handler's, as before
      String http =
          send(base, "GET / HTTP/9.9\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertTrue(http.startsWith("HTTP/1.1 505 "), http);
      assertEquals(
          before + 3, UnreadableRequests.answered(), "not counted as bytes that are not HTTP");
    } finally {
      endpoints.close();
    }
  }

  @Test
  void theFirstUnreadableRequestIsOneLineWithItsCauseThenAtMostOneLineAMinuteWithTheCount() {
    AtomicLong now = new AtomicLong(1_000);
    UnreadableRequests.Tally tally =
        new UnreadableRequests.Tally(UnreadableRequests.LOG_EVERY, now::get);
    String artery =
        UnreadableRequests.describe(
            "Unsupported HTTP method: HTTP method too long (started with 'AKKAp\u0000\u0000}')."
                + " Increase `pekko.http.server.parsing.max-method-length` to support HTTP methods"
                + " with more characters.");
    assertEquals(
        "Unsupported HTTP method: HTTP method too long (started with 'AKKAp..}').", artery);

    Optional<String> first = tally.record("400 Bad Request", artery);
    assertTrue(first.isPresent());
    assertTrue(first.get().contains("answered 400 Bad Request to a request that is not HTTP"));
    assertTrue(first.get().contains("a node's --seeds names this node's --http-port"), first.get());
    assertFalse(first.get().contains("max-method-length"), "not Pekko's misleading remedy");

    for (int i = 0; i < 11; i++) {
      now.addAndGet(Duration.ofSeconds(5).toNanos());
      assertEquals(Optional.empty(), tally.record("400 Bad Request", artery), "within the minute");
    }
    now.addAndGet(Duration.ofSeconds(6).toNanos()); // 61 s after the first line
    Optional<String> second =
        tally.record(
            "400 Bad Request",
            "Unsupported HTTP method: The HTTP method started with 0x16 rather than any known");
    assertTrue(second.isPresent());
    assertTrue(
        second.get().contains("answered 12 more request(s) that are not HTTP in the last 61 s"),
        second.get());
    assertTrue(second.get().contains("a TLS handshake on this plain-HTTP port"), second.get());

    now.addAndGet(Duration.ofSeconds(59).toNanos());
    assertEquals(Optional.empty(), tally.record("400 Bad Request", "GET / HTTP/9"));
    assertEquals(13 + 1, tally.total.get());
  }

  @Test
  void controlBytesAreShownAsDotsAndLongTextIsCut() {
    assertEquals("AKKAp..}", UnreadableRequests.printable("AKKAp\u0000\u0001}", 100));
    assertEquals("abc...", UnreadableRequests.printable("abcdef", 3));
    assertEquals(null, UnreadableRequests.likelyCause("Illegal request-target"));
    assertTrue(
        UnreadableRequests.likelyCause("Illegal HTTP message start").contains("openssl s_client"));
    assertEquals(
        null,
        UnreadableRequests.likelyCause("Unsupported HTTP method: HTTP method too long (started"));
    // a Pekko node's bytes with a blank among the first 16: 501, no quote
    assertTrue(
        UnreadableRequests.likelyCause("Unsupported HTTP method: AKKAp.. ..")
            .contains("a Pekko cluster node's transport bytes"));
  }

  /** Writes {@code bytes} on a new connection and reads what the server answers until it closes. */
  private static String send(URI base, byte[] bytes) throws Exception {
    return send(base, bytes, false);
  }

  /** {@link #send}, with {@code end}: the client's end of the stream after the bytes. */
  private static String send(URI base, byte[] bytes, boolean end) throws Exception {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(base.getHost(), base.getPort()), 5_000);
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(bytes);
      out.flush();
      if (end) {
        socket.shutdownOutput();
      }
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      for (int n; (n = in.read(buffer)) > 0; ) {
        answer.write(buffer, 0, n);
      }
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
