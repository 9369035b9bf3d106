package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ClusterTls;
import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Makes the certificates of one cluster's mutual TLS (Artery's {@code tls-tcp} with Pekko's {@code
 * RotatingKeysSSLEngineProvider}): a root CA ({@code ca.crt}, {@code ca.key}) and, per node, a
 * directory {@code node-<i>} with {@code tls.key}, {@code tls.crt} and {@code ca.crt}, the file
 * names Pekko's engine expects.
 *
 * <p>Every node certificate carries the DNS subject alternative name {@code
 * <cluster-name>.prover-cluster} ({@link #clusterSubjectName}). Pekko's peer check accepts a peer
 * only if one of its subject names (CN or DNS SANs) equals one of this node's, so that shared name
 * is what admits the nodes of one cluster; the trust manager already refuses a certificate of
 * another CA. The CN {@code node-<i>.<cluster-name>.prover-cluster} is unique per node. Host names
 * given with {@code hosts} are added as IP or DNS SANs for clients that verify host names (HTTPS);
 * a DNS host name is a subject name too, so a CA shared by several clusters must not give two
 * clusters' nodes the same DNS host name (better: one CA per cluster).
 *
 * <p>Keys are 2048-bit RSA, written as unencrypted PKCS#8 PEM with mode 0600 (where the file system
 * has POSIX modes); node certificates are signed directly by the root CA (Pekko's engine sends the
 * chain node, CA). {@code ca.key} signs new node certificates: keep it off the nodes.
 */
public final class ClusterKeys {
  /** Pekko's actor system name rule: the cluster name is the system name. */
  static final Pattern CLUSTER_NAME = Pattern.compile("[a-zA-Z0-9][a-zA-Z0-9_-]*");

  public static final String KEY_FILE = ClusterTls.KEY_FILE;
  public static final String CERT_FILE = ClusterTls.CERT_FILE;
  public static final String CA_CERT_FILE = ClusterTls.CA_CERT_FILE;
  public static final String CA_KEY_FILE = "ca.key";

  /** How long a CA made here is valid: ten years; node certificates get the caller's days. */
  private static final Duration CA_VALIDITY = Duration.ofDays(3650);

  /**
   * Certificates are valid from a little before now: clocks of the nodes differ by seconds to
   * minutes.
   */
  private static final Duration BACKDATE = Duration.ofHours(1);

  private static final SecureRandom RANDOM = new SecureRandom();

  private final X509Certificate caCert;
  private final PrivateKey caKey;

  private ClusterKeys(X509Certificate caCert, PrivateKey caKey) {
    this.caCert = caCert;
    this.caKey = caKey;
  }

  /** The DNS subject name every node certificate of the cluster {@code clusterName} carries. */
  public static String clusterSubjectName(String clusterName) {
    return clusterName + ClusterTls.CLUSTER_NAME_SUFFIX;
  }

  /** Null if {@code name} is a valid cluster (actor system) name, else why not. */
  public static String invalidClusterName(String name) {
    if (name == null || !CLUSTER_NAME.matcher(name).matches()) {
      return "cluster name '"
          + name
          + "' is not valid: use letters, digits, '-' and '_', starting with a letter or "
          + "digit (it is the actor system's name)";
    }
    return null;
  }

  /**
   * Makes a new CA for the cluster {@code clusterName} and writes {@code ca.crt} and {@code ca.key}
   * into {@code dir} (created if missing); refuses to overwrite an existing {@code ca.key}.
   *
   * @throws IOException if a file cannot be written or {@code dir/ca.key} exists
   */
  public static ClusterKeys newCa(Path dir, String clusterName) throws IOException {
    requireValid(clusterName);
    Path keyFile = dir.resolve(CA_KEY_FILE);
    if (Files.exists(keyFile)) {
      throw new IOException(
          keyFile
              + " exists already: issue node certificates from it with --ca "
              + dir
              + ", or choose another --out");
    }
    try {
      KeyPair pair = rsaKeyPair();
      X500Name subject =
          new X500NameBuilder(BCStyle.INSTANCE)
              .addRDN(BCStyle.O, clusterName)
              // a random suffix tells two CAs of the same cluster name apart in a refusal's log
              // line
              .addRDN(
                  BCStyle.CN,
                  clusterName + " prover-cluster CA " + Long.toHexString(RANDOM.nextLong() >>> 32))
              .build();
      X509Certificate cert = caCertificate(subject, pair.getPublic(), pair.getPrivate());
      Files.createDirectories(dir);
      writeSecret(keyFile, pem(new JcaPKCS8Generator(pair.getPrivate(), null)));
      writePublic(dir.resolve(CA_CERT_FILE), pem(cert));
      return new ClusterKeys(cert, pair.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("could not make the CA: " + e.getMessage(), e);
    }
  }

  /**
   * Reads the CA that {@link #newCa} wrote into {@code dir}.
   *
   * @throws IOException if {@code ca.crt} or {@code ca.key} is missing or not PEM of the expected
   *     kind
   */
  public static ClusterKeys loadCa(Path dir) throws IOException {
    Path certFile = dir.resolve(CA_CERT_FILE);
    Path keyFile = dir.resolve(CA_KEY_FILE);
    for (Path file : List.of(certFile, keyFile)) {
      if (!Files.isReadable(file)) {
        throw new IOException(
            "cannot read " + file + ": --ca names the directory with the CA's ca.crt and ca.key");
      }
    }
    try (PEMParser certs =
            new PEMParser(Files.newBufferedReader(certFile, StandardCharsets.UTF_8));
        PEMParser keys = new PEMParser(Files.newBufferedReader(keyFile, StandardCharsets.UTF_8))) {
      if (!(certs.readObject() instanceof X509CertificateHolder holder)) {
        throw new IOException(certFile + " holds no PEM certificate");
      }
      Object key = keys.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      PrivateKey privateKey;
      if (key instanceof PrivateKeyInfo info) {
        privateKey = converter.getPrivateKey(info);
      } else if (key instanceof PEMKeyPair pair) {
        privateKey = converter.getKeyPair(pair).getPrivate();
      } else {
        throw new IOException(keyFile + " holds no unencrypted PEM private key");
      }
      return new ClusterKeys(new JcaX509CertificateConverter().getCertificate(holder), privateKey);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot read the CA in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Renews this CA's certificate: the same key and subject, valid 10 years from now, written to
   * {@code dir/ca.crt} (the old one kept as {@code ca.crt.old}). Node certificates it issued stay
   * valid under the renewed one (they name the CA by its subject and key id), so nodes can take the
   * new {@code ca.crt} one by one: no overlap is needed.
   */
  public X509Certificate renewCa(Path dir) throws IOException {
    try {
      X500Name subject = X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded());
      X509Certificate renewed = caCertificate(subject, caCert.getPublicKey(), caKey);
      Path certFile = dir.resolve(CA_CERT_FILE);
      if (Files.exists(certFile)) {
        writePublic(
            dir.resolve(CA_CERT_FILE + ".old"), Files.readString(certFile, StandardCharsets.UTF_8));
      }
      writePublic(certFile, pem(renewed));
      return renewed;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("could not renew the CA: " + e.getMessage(), e);
    }
  }

  /**
   * A self-signed CA certificate for {@code key}, valid from {@code BACKDATE} ago for {@code
   * CA_VALIDITY}: it signs node certificates only (path length 0), and names its key by a subject
   * key id, which a renewed CA keeps.
   */
  private static X509Certificate caCertificate(X500Name subject, PublicKey key, PrivateKey signer)
      throws GeneralSecurityException, OperatorCreationException, IOException {
    Instant now = Instant.now();
    X509v3CertificateBuilder builder =
        new JcaX509v3CertificateBuilder(
                subject,
                serial(),
                Date.from(now.minus(BACKDATE)),
                Date.from(now.plus(CA_VALIDITY)),
                subject,
                key)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
            .addExtension(
                Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
            .addExtension(
                Extension.subjectKeyIdentifier,
                false,
                new JcaX509ExtensionUtils().createSubjectKeyIdentifier(key));
    return sign(builder, signer);
  }

  /** The cluster name this CA was made for (its O attribute), or null for a CA made elsewhere. */
  public String clusterName() {
    var rdns =
        X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.O);
    return rdns.length == 0 ? null : IETFUtils.valueToString(rdns[0].getFirst().getValue());
  }

  /**
   * Issues a node certificate and key and writes {@code tls.key}, {@code tls.crt} and a copy of
   * {@code ca.crt} into {@code dir} (created if missing). Existing files are replaced atomically
   * each (a running node re-reads them: renewal).
   *
   * @param index the node's number, in its CN {@code node-<index>.<cluster>.prover-cluster}
   * @param hosts IP addresses or DNS names of the node, as extra SANs for host name checks (may be
   *     empty)
   * @param days validity of the certificate from now
   */
  public X509Certificate issueNode(
      Path dir, String clusterName, int index, List<String> hosts, int days) throws IOException {
    requireValid(clusterName);
    if (days <= 0) {
      throw new IllegalArgumentException("days must be positive: " + days);
    }
    try {
      KeyPair pair = rsaKeyPair();
      String clusterSan = clusterSubjectName(clusterName);
      X500Name subject =
          new X500NameBuilder(BCStyle.INSTANCE)
              .addRDN(BCStyle.O, clusterName)
              .addRDN(BCStyle.CN, "node-" + index + "." + clusterSan)
              .build();
      List<GeneralName> names = new ArrayList<>();
      names.add(new GeneralName(GeneralName.dNSName, clusterSan));
      for (String host : hosts) {
        boolean ip = host.matches("[0-9.]+") || host.contains(":"); // IPv4 or IPv6 literal
        names.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, host));
      }
      Instant now = Instant.now();
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder =
          new JcaX509v3CertificateBuilder(
                  caCert,
                  serial(),
                  Date.from(now.minus(BACKDATE)),
                  Date.from(now.plus(Duration.ofDays(days))),
                  subject,
                  pair.getPublic())
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
              .addExtension(
                  Extension.keyUsage,
                  true,
                  new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
              // every node is a TLS server (inbound connections) and a client (outbound ones)
              .addExtension(
                  Extension.extendedKeyUsage,
                  false,
                  new ExtendedKeyUsage(
                      new KeyPurposeId[] {
                        KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                      }))
              .addExtension(
                  Extension.subjectAlternativeName,
                  false,
                  new GeneralNames(names.toArray(GeneralName[]::new)))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  extensions.createSubjectKeyIdentifier(pair.getPublic()))
              // the CA's key id only (not its name and serial): a CA certificate renewed with the
              // same key still
              // verifies the node certificates it issued
              .addExtension(
                  Extension.authorityKeyIdentifier,
                  false,
                  extensions.createAuthorityKeyIdentifier(caCert.getPublicKey()));
      X509Certificate cert = sign(builder, caKey);
      Files.createDirectories(dir);
      writeSecret(dir.resolve(KEY_FILE), pem(new JcaPKCS8Generator(pair.getPrivate(), null)));
      writePublic(dir.resolve(CERT_FILE), pem(cert));
      writePublic(dir.resolve(CA_CERT_FILE), pem(caCert));
      return cert;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException(
          "could not issue the certificate of node " + index + ": " + e.getMessage(), e);
    }
  }

  /**
   * A CA in {@code out} and node directories {@code out/node-1 .. node-<nodes>}, all nodes with the
   * default host 127.0.0.1 and {@code days} of validity: a key set for a first try or a test.
   */
  public static void makeKeySet(Path out, String clusterName, int nodes, int days)
      throws IOException {
    ClusterKeys ca = newCa(out, clusterName);
    for (int i = 1; i <= nodes; i++) {
      ca.issueNode(out.resolve("node-" + i), clusterName, i, List.of("127.0.0.1"), days);
    }
  }

  private static void requireValid(String clusterName) {
    String invalid = invalidClusterName(clusterName);
    if (invalid != null) {
      throw new IllegalArgumentException(invalid);
    }
  }

  private static KeyPair rsaKeyPair() throws GeneralSecurityException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048, RANDOM);
    return generator.generateKeyPair();
  }

  /**
   * A positive random 64-bit serial: unique in practice, as RFC 5280 asks of one CA's certificates.
   */
  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).setBit(62);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
      throws OperatorCreationException, GeneralSecurityException {
    ContentSigner signer = new JcaContentSignerBuilder("SHA256withRSA").build(key);
    return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
  }

  private static String pem(Object object) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(
          object instanceof JcaPKCS8Generator generator ? generator.generate() : object);
    }
    return text.toString();
  }

  /** Written to a temporary file with mode 0600 from the start, then moved over the old one. */
  private static void writeSecret(Path file, String text) throws IOException {
    write(file, text, "rw-------");
  }

  private static void writePublic(Path file, String text) throws IOException {
    write(file, text, "rw-r--r--");
  }

  private static void write(Path file, String text, String mode) throws IOException {
    Path temp = file.resolveSibling(file.getFileName() + ".new");
    Files.deleteIfExists(temp);
    if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      Files.createFile(
          temp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    } else {
      Files.createFile(temp);
    }
    try (Writer writer = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
      writer.write(text);
    }
    Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
