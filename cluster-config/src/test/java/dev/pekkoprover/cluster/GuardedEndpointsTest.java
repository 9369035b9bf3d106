package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pekkoprover.node.EndpointsRefusedException;
import dev.pekkoprover.node.HttpSettings;
import dev.pekkoprover.node.HttpsIdentity;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import picocli.CommandLine;

/**
 * Issue 12 part 3, "what it must show" 3: a node bound to 0.0.0.0 (every address; called through
 * 127.0.0.1, as the rule is about the configured token, not the caller's address) over HTTPS with a
 * token: no token is 401 with {@code WWW-Authenticate: Bearer}, a wrong one 403, the right one gets
 * the real status and metrics; a client certificate from the node's CA needs no token, a
 * self-signed one gets no connection; the health probes are open when configured and closed
 * otherwise; {@code prover-node status} with its token and CA; and a node asked for a non-loopback
 * address without TLS and a token refuses to start with one line. The key may be PKCS#8 or PKCS#1.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GuardedEndpointsTest {
  private static final String TOKEN = "7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b";

  private TestPki pki;
  private Path tokenFile;
  private ProverNode node;
  private String base;

  @BeforeAll
  void start() throws Exception {
    pki = TestPki.create();
    tokenFile = Files.writeString(pki.dir.resolve("http-token"), TOKEN + "\n");
    node =
        TestNodes.node(
                "guarded",
                "prover.http.enabled = on\nprover.http.host = \"0.0.0.0\"\n"
                    + "prover.http.https = on\nprover.http.token-file = \""
                    + tokenFile
                    + "\"\n"
                    + pki.tlsConfig())
            .workers(WorkerGroup.allTypes(2, 1))
            .start();
    base = node.httpUrl().orElseThrow();
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() throws IOException {
    if (node != null) {
      node.close();
    }
    if (pki != null) {
      pki.delete();
    }
  }

  private static HttpResponse<String> get(SSLContext tls, String url, String authorization)
      throws Exception {
    HttpClient client =
        HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(3)).build();
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path, String authorization) throws Exception {
    return get(pki.clientTrustingCa(), base + path, authorization);
  }

  @Test
  void servedOverHttpsOnEveryAddressAndTheStartUpLineSaysWhoMayRead() {
    assertTrue(base.startsWith("https://127.0.0.1:"), base);
    String line = node.endpointsLine();
    assertTrue(
        line.contains("the bearer token or a client certificate required, health open"), line);
    assertTrue(!line.contains(TOKEN), "the token is never printed");
  }

  @Test
  void withoutTheTokenEveryDataEndpointIs401WithABearerChallenge() throws Exception {
    for (String path : new String[] {"/status", "/metrics", "/no-such-page"}) {
      HttpResponse<String> answer = get(path, null);
      assertEquals(401, answer.statusCode(), path + ": " + answer.body());
      assertEquals(
          "Bearer realm=\"prover-node\"",
          answer.headers().firstValue("WWW-Authenticate").orElse(""),
          path);
      assertTrue(
          answer.body().contains("needs the header \"Authorization: Bearer <token>\""),
          answer.body());
    }
    HttpResponse<String> basic = get("/status", "Basic " + TOKEN);
    assertEquals(401, basic.statusCode(), basic.body());
  }

  @Test
  void routesAnApplicationMountsAreBehindTheSameGuard() throws Exception {
    node.mount(
        org.apache.pekko.http.javadsl.server.Directives.path(
            "mounted", () -> org.apache.pekko.http.javadsl.server.Directives.complete("mine")));
    assertEquals(401, get("/mounted", null).statusCode());
    assertEquals(403, get("/mounted", "Bearer " + TOKEN.substring(1) + "0").statusCode());
    HttpResponse<String> mounted = get("/mounted", "Bearer " + TOKEN);
    assertEquals(200, mounted.statusCode(), mounted.body());
    assertEquals("mine", mounted.body());
    assertEquals(
        200, get("/status", "Bearer " + TOKEN).statusCode(), "the node's own still answer");
  }

  @Test
  void aWrongTokenIs403() throws Exception {
    for (String path : new String[] {"/status", "/metrics"}) {
      HttpResponse<String> answer = get(path, "Bearer " + TOKEN.substring(1) + "0");
      assertEquals(403, answer.statusCode(), path + ": " + answer.body());
      assertTrue(answer.body().contains("not this node's"), answer.body());
    }
  }

  @Test
  void theRightTokenGetsTheRealStatusAndMetrics() throws Exception {
    HttpResponse<String> status = get("/status", "Bearer " + TOKEN);
    assertEquals(200, status.statusCode(), status.body());
    JsonNode report = new com.fasterxml.jackson.databind.ObjectMapper().readTree(status.body());
    assertEquals(2, report.get("workers").size(), status.body());
    HttpResponse<String> metrics = get("/metrics", "Bearer " + TOKEN);
    assertEquals(200, metrics.statusCode(), metrics.body());
    assertTrue(metrics.body().contains("prover_workers{"), metrics.body());
    assertEquals(404, get("/no-such-page", "Bearer " + TOKEN).statusCode());
  }

  @Test
  void theHealthProbesAndTheDashboardsFilesNeedNoToken() throws Exception {
    assertEquals(200, get("/health/alive", null).statusCode());
    assertEquals(200, get("/health/ready", null).statusCode());
    HttpResponse<String> page = get("/dashboard", null);
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("<title>pekko-prover fleet</title>"), page.body());
    HttpResponse<String> script = get("/dashboard/app.js", null);
    assertEquals(200, script.statusCode());
    assertTrue(
        script.body().contains("Authorization"), "the page sends the token of its #token= link");
  }

  @Test
  void aClientCertificateFromTheNodesCaNeedsNoTokenASelfSignedOneGetsNoConnection()
      throws Exception {
    HttpResponse<String> status = get(pki.clientWithCertificate(), base + "/status", null);
    assertEquals(200, status.statusCode(), status.body());
    assertEquals(
        2,
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(status.body())
            .get("workers")
            .size());
    // presented anyway, a certificate the node's CA did not sign fails the handshake
    assertThrows(
        IOException.class, () -> get(pki.clientWithStrangersCertificate(), base + "/status", null));
  }

  @Test
  void plainHttpOnTheHttpsPortGetsNoStatus() {
    String plain = base.replace("https://", "http://");
    assertThrows(
        IOException.class,
        () -> get(SSLContext.getDefault(), plain + "/status", "Bearer " + TOKEN));
  }

  private record Run(int code, String out, String err) {}

  private static Run status(String node, StatusClient.Access access) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        StatusClient.run(
            node,
            false,
            access,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theStatusCommandWithTokenAndCaPrintsTheTablesAndSaysWhatIsMissingOtherwise()
      throws Exception {
    String hostPort = base.substring("https://".length());
    Run ok = status(hostPort, new StatusClient.Access(tokenFile, true, pki.caCert));
    assertEquals(0, ok.code(), ok.err());
    assertTrue(ok.out().contains("guarded-w1"), ok.out());

    Run noToken = status(base, new StatusClient.Access(null, false, pki.caCert));
    assertEquals(StatusClient.NO_STATUS, noToken.code());
    assertTrue(
        noToken.err().contains("HTTP 401") && noToken.err().contains("--token-file"),
        noToken.err());

    Path wrong = Files.writeString(pki.dir.resolve("wrong-token"), "nope");
    Run wrongToken = status(base, new StatusClient.Access(wrong, false, pki.caCert));
    assertEquals(StatusClient.NO_STATUS, wrongToken.code());
    assertTrue(wrongToken.err().contains("HTTP 403"), wrongToken.err());

    Run noCa =
        status(
            base, new StatusClient.Access(tokenFile, false, null)); // the JDK's roots: not our CA
    assertEquals(StatusClient.NO_STATUS, noCa.code());
    assertTrue(noCa.err().contains("--ca"), noCa.err());
    for (Run run : new Run[] {noToken, wrongToken, noCa}) {
      assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
    }
  }

  @Test
  void closedHealthProbesNeedTheTokenToo() throws Exception {
    // on loopback, plain HTTP: a configured token is required whatever the address
    try (ProverNode closed =
        TestNodes.node(
                "closed-health",
                "prover.http.enabled = on\n"
                    + "prover.http.open-health = off\nprover.http.token-file = \""
                    + tokenFile
                    + "\"")
            .start()) {
      String url = closed.httpUrl().orElseThrow();
      assertTrue(url.startsWith("http://127.0.0.1:"), url);
      SSLContext unused = SSLContext.getDefault();
      assertEquals(401, get(unused, url + "/health/alive", null).statusCode());
      assertEquals(401, get(unused, url + "/status", null).statusCode());
      assertEquals(200, get(unused, url + "/health/alive", "Bearer " + TOKEN).statusCode());
      assertEquals(200, get(unused, url + "/dashboard", null).statusCode());
    }
  }

  @Test
  void theKeyMayBePkcs1AndAFileThatIsNoKeyIsRefusedNamingIt() throws Exception {
    // PKCS#8 wraps the PKCS#1 key: for a 2048-bit RSA key its header is 26 bytes (version,
    // algorithm, octet string)
    String pkcs8 = Files.readString(pki.nodeKey).replaceAll("-----[A-Z ]+-----|\\s", "");
    byte[] der = java.util.Base64.getDecoder().decode(pkcs8);
    byte[] pkcs1 = java.util.Arrays.copyOfRange(der, 26, der.length);
    Path rsaKey =
        Files.writeString(
            pki.dir.resolve("node-rsa.key"),
            "-----BEGIN RSA PRIVATE KEY-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(pkcs1)
                + "\n-----END RSA PRIVATE KEY-----\n");
    SSLContext context =
        HttpsIdentity.server(
            new HttpSettings.TlsFiles(
                java.util.Optional.of(rsaKey),
                java.util.Optional.of(pki.nodeCert),
                java.util.Optional.empty()));
    // a TLS handshake with it: the client sees the node's certificate
    try (javax.net.ssl.SSLServerSocket server =
        (javax.net.ssl.SSLServerSocket) context.getServerSocketFactory().createServerSocket(0)) {
      java.util.concurrent.CompletableFuture<Void> accepted =
          java.util.concurrent.CompletableFuture.runAsync(
              () -> {
                try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) server.accept()) {
                  socket.startHandshake();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      try (javax.net.ssl.SSLSocket client =
          (javax.net.ssl.SSLSocket)
              pki.clientTrustingCa()
                  .getSocketFactory()
                  .createSocket("127.0.0.1", server.getLocalPort())) {
        client.startHandshake();
        assertEquals(
            "CN=prover node",
            ((java.security.cert.X509Certificate) client.getSession().getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName());
      }
      accepted.get(30, java.util.concurrent.TimeUnit.SECONDS);
    }

    EndpointsRefusedException notAKey =
        assertThrows(
            EndpointsRefusedException.class,
            () ->
                HttpsIdentity.server(
                    new HttpSettings.TlsFiles(
                        java.util.Optional.of(pki.nodeCert),
                        java.util.Optional.of(pki.nodeCert),
                        java.util.Optional.empty())));
    assertTrue(
        notAKey
            .getMessage()
            .startsWith(
                "cannot read the node's private key " + pki.nodeCert + " (prover.tls.key-file"),
        notAKey.getMessage());
  }

  @Test
  void aNonLoopbackAddressWithoutTlsAndTokenRefusesToStartInOneLine() {
    EndpointsRefusedException refused =
        assertThrows(
            EndpointsRefusedException.class,
            () ->
                TestNodes.node(
                        "refused", "prover.http.enabled = on\nprover.http.host = \"0.0.0.0\"")
                    .start());
    assertTrue(
        refused.getMessage().startsWith("refusing to serve the HTTP endpoints"),
        refused.getMessage());

    // the launcher: the one line alone on stderr, exit code 2, nothing started
    StringWriter err = new StringWriter();
    CommandLine launcher = NodeLauncher.commandLine();
    launcher.setErr(new PrintWriter(err, true));
    int code = launcher.execute("run", "--in-memory", "--http-host", "0.0.0.0", "--http-port", "0");
    assertEquals(EndpointsRefusedException.EXIT_CODE, code, err.toString());
    assertEquals(1, err.toString().strip().lines().count(), err.toString());
    assertTrue(
        err.toString()
            .startsWith(
                "prover-node: refusing to serve the HTTP endpoints (status, metrics, "
                    + "dashboard) on 0.0.0.0, which is not loopback, without HTTPS and a token: set prover.http.https = on "
                    + "(--http-tls)"),
        err.toString());
  }
}
