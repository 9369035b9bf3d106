package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.cluster.ClusterKeys;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.NodeProblems;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.event.NoMarkerLogging$;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@link HttpsTls}: the HTTPS endpoints serve renewed TLS files from the next connection, without a
 * restart, and never files that fail the check. On their own ({@code run --tls}) they check the
 * files themselves; on a cluster node they follow Artery's check of the same files. Each "served"
 * certificate is read by a real TLS client from a server socket made from the context a new
 * connection gets.
 */
class HttpsTlsTest {
  @TempDir Path keys;
  @TempDir Path node;

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final Logger logger = (Logger) LoggerFactory.getLogger(HttpsTls.class);
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private ActorTestKit testKit;

  @BeforeEach
  void listen() throws Exception {
    logger.setLevel(Level.INFO);
    lines.start();
    logger.addAppender(lines);
    ClusterKeys.makeKeySet(keys, "alpha", 1, 30);
    // node 2: a certificate of the same CA with another end of validity, told apart by it too
    ClusterKeys.loadCa(keys)
        .issueNode(keys.resolve("node-2"), "alpha", 2, List.of("127.0.0.1"), 60);
    for (String file : List.of("tls.key", "tls.crt", "ca.crt")) {
      install(file, keys.resolve("node-1"));
    }
    testKit = ActorTestKit.create(ConfigFactory.parseString("pekko.actor.provider = local"));
  }

  @AfterEach
  void stop() {
    logger.detachAppender(lines);
    logger.setLevel(null); // the configuration's again
    testKit.shutdownTestKit();
  }

  private HttpSettings.TlsFiles files() {
    return new HttpSettings.TlsFiles(
        Optional.of(node.resolve("tls.key")),
        Optional.of(node.resolve("tls.crt")),
        Optional.of(node.resolve("ca.crt")));
  }

  private void install(String file, Path from) throws Exception {
    Path beside = node.resolve(file + ".new");
    Files.copy(from.resolve(file), beside, StandardCopyOption.REPLACE_EXISTING);
    Files.move(beside, node.resolve(file), StandardCopyOption.ATOMIC_MOVE);
  }

  private void seconds(long s) {
    clock.addAndGet(s * 1_000_000_000L);
  }

  private static BigInteger serialOf(Path certFile) throws Exception {
    try (var in = Files.newInputStream(certFile)) {
      return ((X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in))
          .getSerialNumber();
    }
  }

  /** The serial of the certificate a client sees on a new connection (the CA's client). */
  private BigInteger served(HttpsTls tls) throws Exception {
    SSLContext context = tls.context();
    SSLContext client = HttpsIdentity.client(keys.resolve("ca.crt"), "the test's CA");
    try (SSLServerSocket server =
        (SSLServerSocket)
            context
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      server.setSoTimeout(15_000);
      CompletableFuture<Void> accepted =
          CompletableFuture.runAsync(
              () -> {
                try (SSLSocket socket = (SSLSocket) server.accept()) {
                  socket.setSoTimeout(15_000);
                  socket.startHandshake();
                  socket.getInputStream().read(); // until the client closes
                } catch (java.io.IOException closed) {
                  // the client closed after its handshake
                }
              });
      BigInteger serial;
      try (SSLSocket socket =
          (SSLSocket)
              client
                  .getSocketFactory()
                  .createSocket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
        socket.setSoTimeout(15_000);
        socket.startHandshake();
        serial = ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
      }
      accepted.get(15, TimeUnit.SECONDS);
      return serial;
    }
  }

  private List<String> logged(Level level) {
    return lines.list.stream()
        .filter(e -> e.getLevel() == level)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Test
  void onTheirOwnTheEndpointsServeARenewalFromTheNextConnectionAndNeverFilesThatFail()
      throws Exception {
    BigInteger one = serialOf(keys.resolve("node-1").resolve("tls.crt"));
    BigInteger two = serialOf(keys.resolve("node-2").resolve("tls.crt"));
    HttpsTls tls = HttpsTls.prepare(files(), clock::get);
    tls.attach(testKit.system());
    assertFalse(tls.followsArtery(), "no cluster TLS here");
    assertEquals(one, served(tls));

    // a renewal gone wrong: another certificate's key beside this certificate
    install("tls.key", keys.resolve("node-2"));
    seconds(5);
    assertEquals(one, served(tls), "the files read before");
    seconds(11);
    assertEquals(one, served(tls), "still the files read before");
    List<String> errors = logged(Level.ERROR);
    assertEquals(1, errors.size(), lines.list.toString());
    assertTrue(
        errors.get(0).startsWith("the HTTPS endpoints: TLS files ")
            && errors.get(0).contains("is not the key of certificate"),
        errors.get(0));
    String problem =
        NodeProblems.get(testKit.system()).current().stream()
            .filter(line -> line.startsWith("the HTTPS endpoints:"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("named in /status's problems"));
    assertTrue(problem.contains("changed and cannot be used"), problem);
    assertEquals(
        1.0,
        ProverMetrics.get(testKit.system())
            .registry()
            .get("prover.tls.files.unusable")
            .gauge()
            .value());

    // the renewal completed: the matching certificate, served from the next connection
    install("tls.crt", keys.resolve("node-2"));
    seconds(5);
    assertEquals(two, served(tls), "the renewed certificate");
    assertTrue(
        logged(Level.INFO).stream()
            .anyMatch(
                line ->
                    line.startsWith("the HTTPS endpoints: TLS files changed")
                        && line.contains(two.toString(16))),
        lines.list.toString());
    assertTrue(NodeProblems.get(testKit.system()).current().isEmpty());
    double expiry =
        ProverMetrics.get(testKit.system())
            .registry()
            .get("prover.tls.certificate.expiry.timestamp.seconds")
            .gauge()
            .value();
    assertTrue(
        expiry > System.currentTimeMillis() / 1e3 + 59 * 86400,
        "node 2's end of validity (60 days; node 1's is 30): " + expiry);
  }

  @Test
  void filesThatFailAtStartRefuseTheEndpointsNamingTheFile() throws Exception {
    install("tls.key", keys.resolve("node-2"));
    EndpointsRefusedException refused =
        assertThrows(EndpointsRefusedException.class, () -> HttpsTls.prepare(files(), clock::get));
    assertTrue(
        refused.getMessage().startsWith("the HTTPS endpoints: TLS files ")
            && refused.getMessage().contains(node.resolve("tls.key").toString())
            && refused.getMessage().contains("is not the key of certificate"),
        refused.getMessage());
  }

  @Test
  void onAClusterNodeTheEndpointsFollowArterysCheckOfTheSameFiles() throws Exception {
    BigInteger one = serialOf(keys.resolve("node-1").resolve("tls.crt"));
    BigInteger two = serialOf(keys.resolve("node-2").resolve("tls.crt"));
    CheckedTlsFiles<SSLEngineProvider> artery =
        CheckedTlsFiles.forArtery(
            ClusterTls.NodeFiles.inDirectory(node),
            "alpha",
            "127.0.0.1:2552",
            ConfigFactory.parseString("ssl-context-cache-ttl = 5s")
                .withFallback(
                    ConfigFactory.load().getConfig("pekko.remote.artery.ssl.rotating-keys-engine")),
            config -> new RotatingKeysSSLEngineProvider(config, NoMarkerLogging$.MODULE$),
            clock::get,
            logger);
    HttpsTls.ArteryFiles.get(testKit.system()).set(artery);
    HttpsTls tls = HttpsTls.prepare(files(), clock::get);
    tls.attach(testKit.system());
    assertTrue(tls.followsArtery());
    assertEquals(one, served(tls));

    // the renewal on disk: served only once Artery's check has taken it into use
    install("tls.key", keys.resolve("node-2"));
    install("tls.crt", keys.resolve("node-2"));
    seconds(30);
    assertEquals(one, served(tls), "Artery has not checked yet: what the cluster uses");
    artery.check();
    assertEquals(two, served(tls));
    // a key of another node: Artery refuses it, and so do the endpoints
    install("tls.key", keys.resolve("node-1"));
    seconds(30);
    artery.check();
    seconds(30);
    artery.check();
    assertEquals(two, served(tls));
    assertNull(
        NodeProblems.get(testKit.system()).current().stream()
            .filter(line -> line.startsWith("the HTTPS endpoints:"))
            .findFirst()
            .orElse(null),
        "one check, one line: Artery's");
  }
}
