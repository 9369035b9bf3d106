package dev.pekkoprover.cluster;

import dev.pekkoprover.node.HttpsIdentity;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A throw-away PKI for HTTPS tests, made with the JDK's {@code keytool} (no extra library): a CA, a
 * node certificate it signed for {@code 127.0.0.1} and {@code localhost} with its key as PEM files
 * (the node's {@code prover.tls.*}), and two client certificates, one the CA signed and a
 * self-signed one, in PKCS#12 stores for the test's client.
 */
final class TestPki {
  private static final String PASSWORD = "changeit";

  final Path dir;
  final Path caCert;
  final Path nodeKey;
  final Path nodeCert;
  private final Path client;
  private final Path strangerClient;

  private TestPki(Path dir) {
    this.dir = dir;
    this.caCert = dir.resolve("ca.pem");
    this.nodeKey = dir.resolve("node.key");
    this.nodeCert = dir.resolve("node.pem");
    this.client = dir.resolve("client.p12");
    this.strangerClient = dir.resolve("stranger.p12");
  }

  /**
   * Makes the files in a new temporary directory: nine keytool runs, at most five one after
   * another.
   */
  static TestPki create() throws Exception {
    TestPki pki = new TestPki(Files.createTempDirectory("test-pki"));
    pki.make();
    return pki;
  }

  /** Deletes the directory and everything in it (test files: keys of no value). */
  void delete() throws IOException {
    try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }

  /** The {@code prover.tls.*} settings naming this PKI's node files and CA. */
  String tlsConfig() {
    return "prover.tls.key-file = \""
        + nodeKey
        + "\"\nprover.tls.cert-file = \""
        + nodeCert
        + "\"\n"
        + "prover.tls.ca-cert-file = \""
        + caCert
        + "\"\n";
  }

  /** A client context trusting the CA, without a certificate of its own. */
  SSLContext clientTrustingCa() {
    return HttpsIdentity.client(caCert, "test CA");
  }

  /** A client context trusting the CA and presenting a certificate the CA signed. */
  SSLContext clientWithCertificate() throws Exception {
    return withKeys(client);
  }

  /**
   * A client context trusting the CA and presenting a self-signed certificate, even though the
   * server names the CAs it accepts (the JDK's own key manager would then send none).
   */
  SSLContext clientWithStrangersCertificate() throws Exception {
    return withKeys(strangerClient, true);
  }

  private SSLContext withKeys(Path store) throws Exception {
    return withKeys(store, false);
  }

  private SSLContext withKeys(Path store, boolean always) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keys.load(in, PASSWORD.toCharArray());
    }
    KeyManagerFactory managers =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    managers.init(keys, PASSWORD.toCharArray());
    KeyStore roots = KeyStore.getInstance("PKCS12");
    roots.load(null, null);
    roots.setCertificateEntry(
        "ca",
        java.security.cert.CertificateFactory.getInstance("X.509")
            .generateCertificate(Files.newInputStream(caCert)));
    TrustManagerFactory trust =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(roots);
    X509ExtendedKeyManager keyManager = (X509ExtendedKeyManager) managers.getKeyManagers()[0];
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(
        new KeyManager[] {always ? new AlwaysClient(keyManager) : keyManager},
        trust.getTrustManagers(),
        null);
    return context;
  }

  /** Presents the store's {@code client} certificate whatever CAs the server asks for. */
  private static final class AlwaysClient extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager keys;

    AlwaysClient(X509ExtendedKeyManager keys) {
      this.keys = keys;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return "client";
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "client";
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"client"};
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return keys.getServerAliases(keyType, issuers);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return keys.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return keys.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return keys.getPrivateKey(alias);
    }
  }

  private void make() throws Exception {
    Path ca = dir.resolve("ca.p12");
    keytool(
        "-genkeypair",
        "-alias",
        "ca",
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        "CN=prover test CA",
        "-ext",
        "bc:c",
        "-validity",
        "2",
        "-keystore",
        ca.toString());
    keytool(
        "-exportcert",
        "-rfc",
        "-alias",
        "ca",
        "-keystore",
        ca.toString(),
        "-file",
        caCert.toString());

    // the three key pairs at once: keytool is a JVM start and an RSA key generation each
    CompletableFuture<Void> nodeFiles =
        CompletableFuture.runAsync(
            () ->
                unchecked(
                    () -> {
                      Path node =
                          dir.resolve("node.p12"); // only for its key: the node reads PEM files
                      signed(
                          node,
                          "node",
                          "CN=prover node",
                          ca,
                          nodeCert,
                          "san=ip:127.0.0.1,dns:localhost",
                          "eku=serverAuth");
                      writePkcs8Pem(node, "node", nodeKey);
                    }));
    CompletableFuture<Void> clientStore =
        CompletableFuture.runAsync(
            () ->
                unchecked(
                    () -> {
                      Path signedPem = dir.resolve("client.pem");
                      signed(
                          client, "client", "CN=operator", ca, signedPem, null, "eku=clientAuth");
                      replaceChain(client, "client", signedPem);
                    }));
    CompletableFuture<Void> strangerStore =
        CompletableFuture.runAsync(
            () ->
                unchecked(
                    () ->
                        keytool(
                            "-genkeypair",
                            "-alias",
                            "client",
                            "-keyalg",
                            "RSA",
                            "-keysize",
                            "2048",
                            "-dname",
                            "CN=stranger",
                            "-validity",
                            "2",
                            "-keystore",
                            strangerClient.toString())));
    CompletableFuture.allOf(nodeFiles, clientStore, strangerStore).get(5, TimeUnit.MINUTES);
  }

  private interface Step {
    void run() throws Exception;
  }

  private static void unchecked(Step step) {
    try {
      step.run();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Puts the signed certificate, followed by the CA's, in place of the key's self-signed one. */
  private void replaceChain(Path store, String alias, Path signedPem) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keys.load(in, PASSWORD.toCharArray());
    }
    java.security.cert.CertificateFactory x509 =
        java.security.cert.CertificateFactory.getInstance("X.509");
    java.security.cert.Certificate[] chain = new java.security.cert.Certificate[2];
    try (InputStream signed = Files.newInputStream(signedPem);
        InputStream ca = Files.newInputStream(caCert)) {
      chain[0] = x509.generateCertificate(signed);
      chain[1] = x509.generateCertificate(ca);
    }
    keys.setKeyEntry(
        alias, keys.getKey(alias, PASSWORD.toCharArray()), PASSWORD.toCharArray(), chain);
    try (java.io.OutputStream out = Files.newOutputStream(store)) {
      keys.store(out, PASSWORD.toCharArray());
    }
  }

  /**
   * A key pair in {@code store} whose certificate ({@code certOut}, PEM) the CA in {@code caStore}
   * signed.
   */
  private void signed(
      Path store, String alias, String dname, Path caStore, Path certOut, String san, String eku)
      throws Exception {
    keytool(
        "-genkeypair",
        "-alias",
        alias,
        "-keyalg",
        "RSA",
        "-keysize",
        "2048",
        "-dname",
        dname,
        "-keystore",
        store.toString());
    Path csr = dir.resolve(alias + "-" + store.getFileName() + ".csr");
    keytool("-certreq", "-alias", alias, "-keystore", store.toString(), "-file", csr.toString());
    List<String> gencert =
        new ArrayList<>(
            List.of(
                "-gencert",
                "-rfc",
                "-alias",
                "ca",
                "-keystore",
                caStore.toString(),
                "-infile",
                csr.toString(),
                "-outfile",
                certOut.toString(),
                "-validity",
                "2",
                "-ext",
                eku));
    if (san != null) {
      gencert.addAll(List.of("-ext", san));
    }
    keytool(gencert.toArray(new String[0]));
  }

  private static void writePkcs8Pem(Path store, String alias, Path out) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(store)) {
      keys.load(in, PASSWORD.toCharArray());
    }
    PrivateKey key = (PrivateKey) keys.getKey(alias, PASSWORD.toCharArray());
    String pem =
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
    Files.writeString(out, pem, StandardCharsets.US_ASCII);
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    command.addAll(List.of("-storetype", "PKCS12", "-storepass", PASSWORD));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("keytool " + String.join(" ", args) + " failed: " + output);
    }
  }
}
