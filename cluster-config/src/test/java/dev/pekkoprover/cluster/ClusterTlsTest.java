package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.ClusterTls;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The shipped cluster configuration runs TLS, and {@code prover.tls.*} overrides reach Pekko's
 * engine.
 */
class ClusterTlsTest {
  private static final String ENGINE = "pekko.remote.artery.ssl.rotating-keys-engine.";

  @Test
  void theClusterDeploymentRunsTlsOnTheProverTlsFiles() {
    Config config =
        ClusterTls.load(ClusterTls.NodeFiles.inDirectory(Path.of("/keys/node-1")).config());
    assertTrue(ClusterTls.enabled(config));
    assertEquals("/keys/node-1/tls.key", config.getString(ENGINE + "key-file"));
    assertEquals("/keys/node-1/tls.crt", config.getString(ENGINE + "cert-file"));
    assertEquals("/keys/node-1/ca.crt", config.getString(ENGINE + "ca-cert-file"));
    assertEquals("/keys/node-1/tls.key", config.getString("prover.tls.key-file"));
  }

  @Test
  void aDirectoryOverrideReachesTheEngineAndPlainTcpTurnsTlsOff() {
    Config config = ClusterTls.load(ConfigFactory.parseString("prover.tls.dir = \"/etc/prover\""));
    assertEquals("/etc/prover/ca.crt", config.getString(ENGINE + "ca-cert-file"));
    assertFalse(ClusterTls.enabled(ClusterTls.load(ClusterTls.plainTcp())));
  }
}
