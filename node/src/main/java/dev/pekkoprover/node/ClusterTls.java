package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.apache.pekko.pki.pem.DERPrivateKeyLoader;
import org.apache.pekko.pki.pem.PEMDecoder;

/**
 * The cluster deployment's transport security: Artery's {@code tls-tcp} with Pekko's {@code
 * RotatingKeysSSLEngineProvider} (inside {@link TlsEngineProvider}), whose PEM files {@code
 * cluster.conf} takes from {@code prover.tls.key-file}, {@code prover.tls.cert-file} and {@code
 * prover.tls.ca-cert-file} by substitution.
 *
 * <p>What a reader must not miss: a substitution is resolved once, when the configuration is
 * loaded. An override of {@code prover.tls.*} laid over an already loaded {@code cluster.conf}
 * changes {@code prover.tls} but not Pekko's engine; build the node's configuration with {@link
 * #load} instead.
 */
public final class ClusterTls {
  private ClusterTls() {}

  /** Where the engine's settings are in Pekko's configuration. */
  static final String ENGINE = "pekko.remote.artery.ssl.rotating-keys-engine";

  static final String ROTATING_PROVIDER =
      "org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider";

  /**
   * The node's private key in a TLS directory ({@link NodeFiles#inDirectory}), Pekko's naming
   * convention.
   */
  public static final String KEY_FILE = "tls.key";

  /** The node's certificate in a TLS directory. */
  public static final String CERT_FILE = "tls.crt";

  /** The cluster CA's certificate in a TLS directory. */
  public static final String CA_CERT_FILE = "ca.crt";

  /** A node's three PEM files, by Pekko's naming convention inside one directory. */
  public record NodeFiles(Path keyFile, Path certFile, Path caCertFile) {
    /** {@code dir/tls.key}, {@code dir/tls.crt}, {@code dir/ca.crt}. */
    public static NodeFiles inDirectory(Path dir) {
      return new NodeFiles(
          dir.resolve(KEY_FILE), dir.resolve(CERT_FILE), dir.resolve(CA_CERT_FILE));
    }

    /** The files as {@code prover.tls.*} settings (absolute paths): overrides for {@link #load}. */
    public Config config() {
      return ConfigFactory.parseMap(
          Map.of(
              "prover.tls.key-file", keyFile.toAbsolutePath().toString(),
              "prover.tls.cert-file", certFile.toAbsolutePath().toString(),
              "prover.tls.ca-cert-file", caCertFile.toAbsolutePath().toString()),
          "a node's TLS files");
    }

    /**
     * Null if the three files are there and read as Pekko's engine will read them (an RSA private
     * key in PKCS#1 or unencrypted PKCS#8 PEM, X.509 certificates in PEM, the node's certificate
     * valid now, made for that private key and issued by the CA in {@code ca.crt}), else one line
     * naming the file and what is wrong with it. A key and a certificate of two different nodes
     * (files mixed up between node directories), or a {@code ca.crt} of another CA, would start a
     * node whose every TLS handshake fails with only a generic handshake alert on either side, so
     * they are refused here.
     */
    public String problem() {
      return problem(true);
    }

    /**
     * {@link #problem} for the HTTPS endpoints alone ({@code run --tls}): without the rule that
     * {@code ca.crt} issued {@code tls.crt}, as HTTPS sends the whole chain of {@code tls.crt} (an
     * intermediate) and may trust another CA for clients' certificates.
     */
    public String httpsProblem() {
      return problem(false);
    }

    private String problem(boolean artery) {
      for (Path file : new Path[] {keyFile, certFile, caCertFile}) {
        if (!Files.exists(file)) {
          return "TLS file " + file + " does not exist";
        }
        if (!Files.isReadable(file)) {
          return "TLS file " + file + " is not readable by this user";
        }
      }
      try {
        return problemOf(
            Files.readAllBytes(keyFile),
            Files.readAllBytes(certFile),
            Files.readAllBytes(caCertFile),
            artery);
      } catch (IOException e) {
        return "TLS files " + keyFile.getParent() + " could not be read: " + e.getMessage();
      }
    }

    /**
     * {@link #problem} of these contents of the three files (key, certificate, CA certificate),
     * checked in memory, naming this record's files.
     */
    public String problemOf(byte[] keyPem, byte[] certPem, byte[] caPem) {
      return problemOf(keyPem, certPem, caPem, true);
    }

    /**
     * {@link #httpsProblem} of these contents, checked in memory: the HTTPS endpoints' files, where
     * the CA is optional ({@code caPem} null: none, so nothing of it is checked).
     */
    public String httpsProblemOf(byte[] keyPem, byte[] certPem, byte[] caPem) {
      return problemOf(keyPem, certPem, caPem, false);
    }

    private String problemOf(byte[] keyPem, byte[] certPem, byte[] caPem, boolean artery) {
      PrivateKey key;
      try {
        key =
            DERPrivateKeyLoader.load(PEMDecoder.decode(new String(keyPem, StandardCharsets.UTF_8)));
      } catch (RuntimeException e) {
        return "TLS key file "
            + keyFile
            + " is not an RSA private key in PKCS#1 or unencrypted PKCS#8 PEM: "
            + e.getMessage();
      }
      X509Certificate ca;
      X509Certificate cert;
      try {
        ca = caPem == null ? null : certificateOf(caCertFile, caPem);
        cert = certificateOf(certFile, certPem);
      } catch (IllegalArgumentException e) {
        return e.getMessage();
      }
      // the HTTPS endpoints' CA only vouches for clients' certificates, checked at their handshake
      String invalid = ca == null || !artery ? null : validityProblem(caCertFile, ca);
      if (invalid == null) {
        invalid = validityProblem(certFile, cert);
      }
      if (invalid != null) {
        return invalid;
      }
      String mismatch = keyMismatch(key, cert);
      return mismatch != null || !artery || ca == null ? mismatch : notIssuedBy(cert, ca);
    }

    /**
     * Null when the node's certificate carries the public key of {@code key}: a signature made with
     * the key verifies with the certificate (RSA, the only kind Pekko's loader reads); else one
     * line saying that the two files belong to different keys.
     */
    private String keyMismatch(PrivateKey key, X509Certificate cert) {
      try {
        byte[] challenge = "prover-node key check".getBytes(StandardCharsets.UTF_8);
        Signature signer = Signature.getInstance("SHA256withRSA");
        signer.initSign(key);
        signer.update(challenge);
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance("SHA256withRSA");
        verifier.initVerify(cert.getPublicKey());
        verifier.update(challenge);
        if (verifier.verify(signature)) {
          return null;
        }
      } catch (GeneralSecurityException e) {
        // an unusual key or certificate: fall through to the same answer, with the reason
        return "TLS key file "
            + keyFile
            + " and certificate "
            + certFile
            + " could not be checked against each other: "
            + e.getMessage();
      }
      return "TLS key file "
          + keyFile
          + " is not the key of certificate "
          + certFile
          + " (files of two different nodes?): put the node's own tls.key and tls.crt together, "
          + "or issue a new pair ("
          + ISSUE
          + ")";
    }

    /**
     * Null when {@code cert} is signed by {@code ca}'s key (the only chain Pekko's engine accepts:
     * node certificates issued directly by the root in {@code ca.crt}); else one line. A same-key
     * renewal of the CA ({@code keys --renew-ca}) still verifies.
     */
    private String notIssuedBy(X509Certificate cert, X509Certificate ca) {
      try {
        cert.verify(ca.getPublicKey());
        return null;
      } catch (GeneralSecurityException e) {
        return "TLS certificate "
            + certFile
            + " was not issued by the CA in "
            + caCertFile
            + " ("
            + ca.getSubjectX500Principal().getName()
            + "): the peers of this cluster would refuse it, or this node them. Take all three files,"
            + " ca.crt too, from the cluster's CA ("
            + ISSUE
            + ")";
      }
    }

    /**
     * The first X.509 certificate in {@code pem} (as Pekko's engine reads it).
     *
     * @throws IllegalArgumentException naming {@code file}, if there is none
     */
    static X509Certificate certificateOf(Path file, byte[] pem) {
      try {
        return (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(pem));
      } catch (GeneralSecurityException | ClassCastException e) {
        throw new IllegalArgumentException(
            "TLS certificate file "
                + file
                + " holds no X.509 certificate in PEM (or is still being written): "
                + e.getMessage(),
            e);
      }
    }

    private static String validityProblem(Path file, X509Certificate cert) {
      Date now = new Date();
      if (now.after(cert.getNotAfter())) {
        return "TLS certificate "
            + file
            + " expired on "
            + cert.getNotAfter().toInstant()
            + ": issue a new one ("
            + ISSUE
            + ")";
      }
      if (now.before(cert.getNotBefore())) {
        return "TLS certificate "
            + file
            + " is not valid before "
            + cert.getNotBefore().toInstant()
            + ": is this host's clock right?";
      }
      return null;
    }

    /**
     * The node's certificate, read from {@code certFile}; call after {@link #problem} found none.
     *
     * @throws IllegalStateException if it cannot be read (the files changed since the check)
     */
    public X509Certificate certificate() {
      try {
        return certificateOf(certFile, Files.readAllBytes(certFile));
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalStateException("TLS certificate " + certFile + " unreadable: " + e, e);
      }
    }
  }

  /** How a node's files are issued: the hint of every line that asks for new ones. */
  static final String ISSUE = "prover-node keys --ca <ca dir> --out <dir> --first <i> --nodes 1";

  /** The DNS name every node certificate {@code keys} makes ends with: {@code <cluster>}+this. */
  public static final String CLUSTER_NAME_SUFFIX = ".prover-cluster";

  /**
   * Null unless {@code cert} is one {@code keys} made for another cluster than {@code clusterName}:
   * its DNS names include one of the form {@code <name>.prover-cluster} and none for {@code
   * clusterName}; then one line naming both and the two fixes. Such a node never joins: the nodes
   * of the certificate's cluster drop its handshakes (another actor system name), and only Pekko's
   * bare "Dropping Handshake Request" on the seeds said so. A certificate of your own PKI (no such
   * name) passes.
   */
  public static String otherClusterOf(X509Certificate cert, String clusterName) {
    List<String> named = new java.util.ArrayList<>();
    try {
      java.util.Collection<List<?>> names = cert.getSubjectAlternativeNames();
      if (names != null) {
        for (List<?> name : names) {
          if (name.size() >= 2
              && Integer.valueOf(2).equals(name.get(0)) // dNSName
              && name.get(1) instanceof String dns
              && dns.endsWith(CLUSTER_NAME_SUFFIX)) {
            named.add(dns);
          }
        }
      }
    } catch (java.security.cert.CertificateParsingException e) {
      return null; // the start-up check reads the certificate; nothing more to say here
    }
    if (named.isEmpty() || named.contains(clusterName + CLUSTER_NAME_SUFFIX)) {
      return null;
    }
    String other = named.get(0).substring(0, named.get(0).length() - CLUSTER_NAME_SUFFIX.length());
    return "this node's certificate was made for cluster '"
        + other
        + "' (DNS name "
        + named.get(0)
        + "), but the node runs as cluster '"
        + clusterName
        + "' (--cluster-name or PROVER_CLUSTER_NAME): it cannot join the nodes of '"
        + other
        + "' (they drop its handshakes) nor nodes with certificates made for '"
        + clusterName
        + "'. Start it with --cluster-name "
        + other
        + ", or issue its certificate with keys --cluster-name "
        + clusterName;
  }

  /**
   * Override for a node without TLS: Artery's plain {@code tcp} (any process that reaches the port
   * can join).
   */
  public static Config plainTcp() {
    return ConfigFactory.parseMap(
        Map.of("pekko.remote.artery.transport", "tcp"), "plain TCP between nodes");
  }

  /**
   * The cluster deployment's configuration: {@code overrides}, then system properties, then {@code
   * cluster.conf} (which includes application.conf), then every reference.conf, resolved once all
   * are merged, so that {@code prover.tls.*} in {@code overrides} reaches Pekko's engine. The same
   * precedence as {@code overrides.withFallback(ConfigFactory.load("cluster"))}.
   */
  public static Config load(Config overrides) {
    return overrides
        .withFallback(ConfigFactory.defaultOverrides())
        .withFallback(ConfigFactory.parseResourcesAnySyntax("cluster"))
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  /** Whether {@code config} (resolved) runs Artery over TLS with Pekko's rotating-keys engine. */
  public static boolean enabled(Config config) {
    return "tls-tcp".equals(config.getString("pekko.remote.artery.transport"))
        && List.of(ROTATING_PROVIDER, TlsEngineProvider.class.getName())
            .contains(config.getString("pekko.remote.artery.ssl.ssl-engine-provider"));
  }

  /**
   * The files Pekko's engine will read, from a resolved configuration (whether or not TLS is on).
   */
  public static NodeFiles engineFiles(Config config) {
    Config engine = config.getConfig(ENGINE);
    return new NodeFiles(
        Path.of(engine.getString("key-file")),
        Path.of(engine.getString("cert-file")),
        Path.of(engine.getString("ca-cert-file")));
  }
}
