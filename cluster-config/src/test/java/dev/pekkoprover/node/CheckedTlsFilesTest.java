package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.cluster.ClusterKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.event.NoMarkerLogging$;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@link CheckedTlsFiles} with Pekko's real engine and certificates from {@code keys}: files that
 * fail the check are never used (the node goes on with those it read before, and says so once they
 * have failed for 10 s), files that pass are used from the next check, and Pekko's engine keeps
 * working after its private copy is deleted.
 */
class CheckedTlsFilesTest {
  @TempDir Path keys;
  @TempDir Path node;

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final Logger logger = (Logger) LoggerFactory.getLogger("test.checked-tls-files");
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  @BeforeEach
  void listen() {
    logger.setLevel(Level.INFO); // whatever the test log's level: these lines are counted
    lines.start();
    logger.addAppender(lines);
  }

  @AfterEach
  void stopListening() {
    logger.detachAppender(lines);
  }

  private CheckedTlsFiles<SSLEngineProvider> start() {
    return start("alpha");
  }

  private CheckedTlsFiles<SSLEngineProvider> start(String clusterName) {
    Config engine =
        ConfigFactory.load()
            .getConfig("pekko.remote.artery.ssl.rotating-keys-engine")
            .withFallback(ConfigFactory.parseString("ssl-context-cache-ttl = 5s"));
    return CheckedTlsFiles.forArtery(
        ClusterTls.NodeFiles.inDirectory(node),
        clusterName,
        "127.0.0.1:2552",
        ConfigFactory.parseString("ssl-context-cache-ttl = 5s").withFallback(engine),
        config -> new RotatingKeysSSLEngineProvider(config, NoMarkerLogging$.MODULE$),
        clock::get,
        logger);
  }

  private void install(String file, Path from) throws Exception {
    // as an operator should: written beside, then renamed over the file
    Path beside = node.resolve(file + ".new");
    Files.copy(from.resolve(file), beside, StandardCopyOption.REPLACE_EXISTING);
    Files.move(beside, node.resolve(file), StandardCopyOption.ATOMIC_MOVE);
  }

  private void installAll(Path from) throws Exception {
    for (String file : List.of("tls.key", "tls.crt", "ca.crt")) {
      install(file, from);
    }
  }

  private void seconds(long s) {
    clock.addAndGet(s * 1_000_000_000L);
  }

  private List<String> logged(Level level) {
    return lines.list.stream()
        .filter(e -> e.getLevel() == level)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  private static String serial(X509Certificate cert) {
    return cert.getSerialNumber().toString(16);
  }

  private static String serialOf(Path certFile) throws Exception {
    try (var in = Files.newInputStream(certFile)) {
      return serial(
          (X509Certificate)
              java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
  }

  @Test
  void filesThatFailTheCheckAreNotUsedAndThoseThatPassAreUsedFromTheNextCheck() throws Exception {
    ClusterKeys.makeKeySet(keys, "alpha", 2, 30);
    Path one = keys.resolve("node-1");
    Path two = keys.resolve("node-2");
    installAll(one);
    CheckedTlsFiles<SSLEngineProvider> files = start();
    assertEquals(serialOf(one.resolve("tls.crt")), serial(files.certificate()));
    assertNull(files.problem());
    assertNotNull(files.engine().createServerSSLEngine("127.0.0.1", 0));
    assertEquals(1, logged(Level.INFO).size(), lines.list.toString());
    // nothing left of the private copies in the temporary directory's prover-tls-* entries is
    // checked below through the engine still working after they are gone

    // a renewal gone wrong: node 2's key beside node 1's certificate
    install("tls.key", two);
    seconds(5);
    files.engine(); // a connection after the interval: a check
    assertEquals(serialOf(one.resolve("tls.crt")), serial(files.certificate()), "kept");
    assertNotNull(files.engine().createClientSSLEngine("127.0.0.1", 2552), "the old engine works");
    assertEquals(List.of(), logged(Level.ERROR), "not yet: perhaps a copy in progress");
    assertNull(files.problem(), "nor in /status");
    seconds(10);
    files.check();
    assertNotNull(files.problem());
    assertTrue(
        files.problem().contains("is not the key of certificate " + node.resolve("tls.crt")),
        files.problem());
    List<String> errors = logged(Level.ERROR);
    assertEquals(1, errors.size(), lines.list.toString());
    assertTrue(
        errors.get(0).contains("new connections go on with the files read before"), errors.get(0));
    seconds(5);
    files.check();
    assertEquals(1, logged(Level.ERROR).size(), "once, until 10 minutes have passed");

    // the certificate that goes with the key: used from this check on
    install("tls.crt", two);
    seconds(5);
    files.check();
    assertNull(files.problem());
    assertEquals(serialOf(two.resolve("tls.crt")), serial(files.certificate()));
    // one line for the change, which ends the failure too
    assertEquals(
        1,
        logged(Level.INFO).stream()
            .filter(
                l ->
                    l.startsWith(
                        "TLS files changed: new connections use them now (the files are usable"
                            + " again): certificate "))
            .count(),
        lines.list.toString());
    assertTrue(
        logged(Level.INFO).stream().noneMatch(l -> l.startsWith("TLS files usable again")),
        lines.list.toString());
    assertNotNull(files.engine().createServerSSLEngine("127.0.0.1", 0));
  }

  @Test
  void aCaOfAnotherClusterOrACertificateMadeForAnotherClusterNameIsNotUsed(@TempDir Path others)
      throws Exception {
    ClusterKeys.makeKeySet(keys, "alpha", 1, 30);
    ClusterKeys.makeKeySet(others, "beta", 1, 30);
    Path one = keys.resolve("node-1");
    Path beta = others.resolve("node-1");
    installAll(one);
    CheckedTlsFiles<SSLEngineProvider> files = start();
    String inUse = serial(files.certificate());

    // another CA's ca.crt beside this node's own pair
    install("ca.crt", beta);
    files.check();
    seconds(10);
    files.check();
    assertEquals(inUse, serial(files.certificate()), "kept");
    assertNotNull(files.problem());
    assertTrue(files.problem().startsWith("node 127.0.0.1:2552: TLS files "), files.problem());
    assertTrue(
        files.problem().contains("was not issued by the CA in " + node.resolve("ca.crt")),
        files.problem());

    // all three files of cluster beta's node: consistent, but made for another cluster name
    install("tls.key", beta);
    install("tls.crt", beta);
    seconds(5);
    files.check();
    assertEquals(inUse, serial(files.certificate()), "kept");
    assertTrue(
        files.problem().contains("this node's certificate was made for cluster 'beta'"),
        files.problem());
    assertEquals(1, logged(Level.ERROR).size(), "one line for the failing files: " + lines.list);
  }

  @Test
  void aNodeStartedWithACertificateOfAnotherClusterNameWorksAndTakesItsRenewals() throws Exception {
    // a cluster whose nodes all run as 'gamma' with certificates made for 'alpha': they admit each
    // other (the shared DNS name), and the launcher's WARN says it; the files are not refused
    ClusterKeys.makeKeySet(keys, "alpha", 2, 30);
    installAll(keys.resolve("node-1"));
    CheckedTlsFiles<SSLEngineProvider> files = start("gamma");
    assertNull(files.problem());
    assertEquals(List.of(), logged(Level.ERROR));
    install("tls.key", keys.resolve("node-2"));
    install("tls.crt", keys.resolve("node-2"));
    seconds(5);
    files.check();
    assertEquals(serialOf(keys.resolve("node-2/tls.crt")), serial(files.certificate()));
    assertNull(files.problem());
  }

  @Test
  void aFileBrieflyMissingOrHalfCopiedIsNoErrorAndAnUnchangedFileIsNotReadAsNew() throws Exception {
    ClusterKeys.makeKeySet(keys, "alpha", 2, 30);
    Path one = keys.resolve("node-1");
    Path two = keys.resolve("node-2");
    installAll(one);
    CheckedTlsFiles<SSLEngineProvider> files = start();
    seconds(5);
    files.check();
    assertEquals(1, lines.list.size(), "unchanged files: no line: " + lines.list);

    // a copy that writes the key first and the certificate 3 s later
    Files.delete(node.resolve("tls.key"));
    files.check();
    assertEquals(serialOf(one.resolve("tls.crt")), serial(files.certificate()), "kept");
    seconds(3);
    install("tls.key", two);
    files.check();
    seconds(3);
    install("tls.crt", two);
    files.check();
    assertNull(files.problem());
    assertEquals(List.of(), logged(Level.ERROR));
    assertEquals(serialOf(two.resolve("tls.crt")), serial(files.certificate()));
  }
}
