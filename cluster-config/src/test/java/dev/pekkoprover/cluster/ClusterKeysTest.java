package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ClusterTls;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key set that {@code prover-node keys} makes is what Pekko's rotating-keys engine reads and
 * what its peer check needs: node certificates signed by the CA, naming the cluster, keys private;
 * renewal from the CA keeps the trust; the launcher refuses to start a node without usable TLS
 * files with one line and exit code 2.
 */
class ClusterKeysTest {
  @TempDir Path dir;

  private static X509Certificate read(Path file) throws Exception {
    try (InputStream in = Files.newInputStream(file)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void nodeCertificatesAreSignedByTheCaAndNameTheirCluster() throws Exception {
    ClusterKeys.makeKeySet(dir, "alpha", 2, 30);
    X509Certificate ca = read(dir.resolve("ca.crt"));
    for (String node : List.of("node-1", "node-2")) {
      Path nodeDir = dir.resolve(node);
      assertNull(
          ClusterTls.NodeFiles.inDirectory(nodeDir).problem(), "Pekko's loader reads " + nodeDir);
      X509Certificate cert = read(nodeDir.resolve("tls.crt"));
      cert.verify(ca.getPublicKey());
      assertEquals(ca.getSubjectX500Principal(), cert.getIssuerX500Principal());
      assertTrue(
          cert.getSubjectAlternativeNames().contains(List.of(2, "alpha.prover-cluster")),
          "the shared cluster name: " + cert.getSubjectAlternativeNames());
      assertTrue(
          cert.getSubjectX500Principal()
              .getName()
              .contains("CN=" + node + ".alpha.prover-cluster"));
      assertEquals(-1, cert.getBasicConstraints(), "not a CA");
      assertEquals(
          Files.readString(dir.resolve("ca.crt")), Files.readString(nodeDir.resolve("ca.crt")));
      assertEquals(
          "rw-------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(nodeDir.resolve("tls.key"))));
    }
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))));
    assertTrue(ca.getBasicConstraints() >= 0, "the CA is a CA");
  }

  @Test
  void aCertificateMadeForAnotherClusterNameIsNamedAtStart() throws Exception {
    ClusterKeys.makeKeySet(dir, "alpha", 1, 30);
    X509Certificate cert = read(dir.resolve("node-1/tls.crt"));
    assertNull(ClusterTls.otherClusterOf(cert, "alpha"));
    String line = ClusterTls.otherClusterOf(cert, "beta");
    assertNotNull(line);
    assertTrue(
        line.startsWith(
            "this node's certificate was made for cluster 'alpha' (DNS name"
                + " alpha.prover-cluster), but the node runs as cluster 'beta'"),
        line);
    assertTrue(
        line.endsWith(
            "Start it with --cluster-name alpha, or issue its certificate with keys --cluster-name"
                + " beta"),
        line);
    // a CA certificate (no such DNS name), like a certificate of your own PKI: nothing to say
    assertNull(ClusterTls.otherClusterOf(read(dir.resolve("ca.crt")), "beta"));
  }

  @Test
  void renewalFromTheCaReplacesTheKeyAndKeepsTheTrust() throws Exception {
    ClusterKeys.makeKeySet(dir, "alpha", 1, 30);
    String oldKey = Files.readString(dir.resolve("node-1/tls.key"));
    ClusterKeys ca = ClusterKeys.loadCa(dir);
    assertEquals("alpha", ca.clusterName());
    X509Certificate renewed = ca.issueNode(dir.resolve("node-1"), "alpha", 1, List.of(), 60);
    assertNotEquals(oldKey, Files.readString(dir.resolve("node-1/tls.key")));
    renewed.verify(read(dir.resolve("ca.crt")).getPublicKey());
    assertNull(ClusterTls.NodeFiles.inDirectory(dir.resolve("node-1")).problem());
    assertThrows(
        java.io.IOException.class,
        () -> ClusterKeys.newCa(dir, "alpha"),
        "a CA is never overwritten");
  }

  @Test
  void aRenewedCaCertificateStillTrustsTheNodeCertificatesItIssued() throws Exception {
    ClusterKeys.makeKeySet(dir, "alpha", 1, 30);
    X509Certificate node = read(dir.resolve("node-1/tls.crt"));
    X509Certificate renewed = ClusterKeys.loadCa(dir).renewCa(dir);
    assertNotEquals(read(dir.resolve("ca.crt.old")).getSerialNumber(), renewed.getSerialNumber());
    assertEquals(renewed, read(dir.resolve("ca.crt")));
    // the JDK's PKIX check, as the TLS trust manager runs it, with only the renewed CA as trust
    // anchor
    var params =
        new java.security.cert.PKIXParameters(
            java.util.Set.of(new java.security.cert.TrustAnchor(renewed, null)));
    params.setRevocationEnabled(false);
    java.security.cert.CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(node)), params);
  }

  @Test
  void invalidClusterNamesAreRefused() {
    assertNull(ClusterKeys.invalidClusterName("prover-2_b"));
    assertNotNull(ClusterKeys.invalidClusterName("-x"));
    assertNotNull(ClusterKeys.invalidClusterName("a b"));
    assertNotNull(ClusterKeys.invalidClusterName("a.b"));
  }

  @Test
  void theLauncherRefusesANodeWithoutUsableTlsFilesInOneLine() throws Exception {
    LauncherRun none = LauncherRun.of("node", "--roles", "worker");
    assertEquals(2, none.code());
    assertEquals(1, none.err().lines().count(), none.err());
    assertTrue(
        none.err().contains("--tls <dir>")
            && none.err().contains("prover-node keys")
            && none.err().contains("--no-tls"),
        none.err());

    ClusterKeys.makeKeySet(dir, "prover", 1, 30);
    Files.delete(dir.resolve("node-1/tls.crt"));
    LauncherRun missing =
        LauncherRun.of("node", "--roles", "worker", "--tls", dir.resolve("node-1").toString());
    assertEquals(2, missing.code());
    assertEquals(1, missing.err().lines().count(), missing.err());
    assertTrue(missing.err().contains(dir.resolve("node-1/tls.crt").toString()), missing.err());

    Files.writeString(dir.resolve("node-1/tls.crt"), "not a certificate");
    LauncherRun garbage =
        LauncherRun.of("node", "--roles", "worker", "--tls", dir.resolve("node-1").toString());
    assertEquals(2, garbage.code());
    assertTrue(garbage.err().contains("holds no X.509 certificate"), garbage.err());

    ClusterKeys.makeKeySet(dir.resolve("other"), "prover", 2, 30);
    Path mixed = dir.resolve("mixed");
    Files.createDirectories(mixed);
    Files.copy(dir.resolve("other/node-2/tls.crt"), mixed.resolve("tls.crt"));
    Files.copy(dir.resolve("other/node-2/ca.crt"), mixed.resolve("ca.crt"));
    Files.copy(dir.resolve("other/node-1/tls.key"), mixed.resolve("tls.key"));
    // checked on the files (the launcher refuses what problem() names, as above): a node started
    // with them would wait for ever, every handshake failing with a bare alert
    String keyOfAnotherNode = ClusterTls.NodeFiles.inDirectory(mixed).problem();
    assertNotNull(keyOfAnotherNode);
    assertTrue(
        keyOfAnotherNode.contains("is not the key of certificate " + mixed.resolve("tls.crt")),
        keyOfAnotherNode);
    assertNull(ClusterTls.NodeFiles.inDirectory(dir.resolve("other/node-1")).problem());
    // a ca.crt of another CA beside a node's own pair (a trial's node then waited for ever, told
    // that its certificate was not from the cluster's CA): refused at start, naming ca.crt
    Path otherCa = dir.resolve("other-ca");
    Files.createDirectories(otherCa);
    Files.copy(dir.resolve("other/node-1/tls.key"), otherCa.resolve("tls.key"));
    Files.copy(dir.resolve("other/node-1/tls.crt"), otherCa.resolve("tls.crt"));
    ClusterKeys.makeKeySet(dir.resolve("third"), "prover", 1, 30);
    Files.copy(dir.resolve("third/ca.crt"), otherCa.resolve("ca.crt"));
    LauncherRun wrongCa = LauncherRun.of("node", "--roles", "worker", "--tls", otherCa.toString());
    assertEquals(2, wrongCa.code());
    assertTrue(
        wrongCa.err().contains("was not issued by the CA in " + otherCa.resolve("ca.crt")),
        wrongCa.err());

    LauncherRun badName =
        LauncherRun.of("node", "--roles", "worker", "--no-tls", "--cluster-name", "a.b");
    assertEquals(2, badName.code());
    assertTrue(badName.err().contains("cluster name 'a.b' is not valid"), badName.err());
  }

  @Test
  void theKeysCommandSaysWhichOptionIsMissingOrWrong(@TempDir Path dir) {
    LauncherRun noNodes = LauncherRun.of("keys", "--out", dir.resolve("a").toString());
    assertEquals(2, noNodes.code());
    assertTrue(
        noNodes.err().contains("keys: give --nodes <n>, how many node certificates to issue"),
        noNodes.err());
    assertFalse(noNodes.err().contains("--days"), noNodes.err());
    LauncherRun negative =
        LauncherRun.of("keys", "--out", dir.resolve("b").toString(), "--nodes", "-2");
    assertEquals(2, negative.code());
    assertTrue(negative.err().contains("at least 1 (was -2)"), negative.err());
    LauncherRun days =
        LauncherRun.of("keys", "--out", dir.resolve("c").toString(), "--nodes", "1", "--days", "0");
    assertEquals(2, days.code());
    assertTrue(days.err().contains("keys: --days must be at least 1 (was 0)"), days.err());
    assertFalse(Files.exists(dir.resolve("a")) || Files.exists(dir.resolve("c")), "nothing made");
  }

  @Test
  void theKeysCommandMakesACaAndNodeDirectories() throws Exception {
    LauncherRun keys =
        LauncherRun.of(
            "keys",
            "--out",
            dir.toString(),
            "--nodes",
            "2",
            "--cluster-name",
            "beta",
            "--hosts",
            "10.0.0.1,node-b.example");
    assertEquals(0, keys.code(), keys.err());
    assertTrue(keys.out().contains("off the nodes"), keys.out());
    X509Certificate second = read(dir.resolve("node-2/tls.crt"));
    assertTrue(second.getSubjectAlternativeNames().contains(List.of(2, "node-b.example")));
    assertTrue(
        read(dir.resolve("node-1/tls.crt"))
            .getSubjectAlternativeNames()
            .contains(List.of(7, "10.0.0.1")));

    LauncherRun more =
        LauncherRun.of(
            "keys",
            "--ca",
            dir.toString(),
            "--out",
            dir.toString(),
            "--first",
            "3",
            "--nodes",
            "1");
    assertEquals(0, more.code(), more.err());
    assertTrue(more.out().contains("cluster 'beta'"), "the CA's cluster name: " + more.out());
    assertNull(ClusterTls.NodeFiles.inDirectory(dir.resolve("node-3")).problem());
  }
}
