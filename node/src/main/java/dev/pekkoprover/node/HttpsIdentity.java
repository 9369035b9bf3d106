package dev.pekkoprover.node;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.pki.pem.DERPrivateKeyLoader;
import org.apache.pekko.pki.pem.PEMDecoder;
import org.apache.pekko.pki.pem.PEMLoadingException;

/**
 * TLS contexts from PEM files: the node's key and certificate for its HTTPS endpoints (the key
 * decoded by Pekko's {@code pekko-pki}), and a CA's certificates as the trusted roots (of clients'
 * certificates on the node, of the node's certificate in {@code prover-node status --ca}). Every
 * failure is an {@link EndpointsRefusedException} naming the file and the setting.
 */
public final class HttpsIdentity {
  private HttpsIdentity() {}

  /**
   * The in-memory key store's password: the key never leaves this process, the store is never
   * written.
   */
  private static final char[] NO_PASSWORD = new char[0];

  /**
   * A server context with the node's key and certificate chain; with {@code caCertFile}, one that
   * trusts that CA's certificates for clients (else the JDK's default roots, unused as the server
   * asks no certificate then).
   */
  public static SSLContext server(HttpSettings.TlsFiles files) {
    Path keyFile = files.keyFile().orElseThrow();
    Path certFile = files.certFile().orElseThrow();
    return server(
        files,
        read(keyFile, "prover.tls.key-file"),
        read(certFile, "prover.tls.cert-file"),
        files.caCertFile().map(ca -> read(ca, "prover.tls.ca-cert-file")).orElse(null));
  }

  /**
   * {@link #server(HttpSettings.TlsFiles)} of these contents of {@code files} (key, certificate
   * chain, CA certificate or null for none), read before; errors name {@code files}.
   */
  static SSLContext server(
      HttpSettings.TlsFiles files, byte[] keyPem, byte[] certPem, byte[] caPem) {
    Path keyFile = files.keyFile().orElseThrow();
    Path certFile = files.certFile().orElseThrow();
    PrivateKey key;
    try {
      key =
          DERPrivateKeyLoader.load(
              PEMDecoder.decode(new String(keyPem, StandardCharsets.US_ASCII)));
    } catch (PEMLoadingException | IllegalArgumentException e) {
      throw new EndpointsRefusedException(
          "cannot read the node's private key "
              + keyFile
              + " (prover.tls.key-file: one PEM RSA key, PKCS#8 or PKCS#1, unencrypted): "
              + e.getMessage(),
          e);
    }
    Certificate[] chain =
        certificates(certFile, certPem, "prover.tls.cert-file").toArray(new Certificate[0]);
    try {
      KeyStore identity = KeyStore.getInstance("PKCS12");
      identity.load(null, null);
      identity.setKeyEntry("node", key, NO_PASSWORD, chain);
      KeyManagerFactory keys =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(identity, NO_PASSWORD);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          keys.getKeyManagers(),
          caPem == null
              ? null
              : trust(files.caCertFile().orElseThrow(), caPem, "prover.tls.ca-cert-file")
                  .getTrustManagers(),
          new SecureRandom());
      return context;
    } catch (GeneralSecurityException | IOException e) {
      throw new EndpointsRefusedException(
          "the key "
              + keyFile
              + " and certificate "
              + certFile
              + " (prover.tls.key-file, cert-file) do not make a TLS identity: "
              + e.getMessage(),
          e);
    }
  }

  private static byte[] read(Path file, String setting) {
    try {
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new EndpointsRefusedException(
          "cannot read " + file + " (" + setting + "): " + e.getMessage(), e);
    }
  }

  /**
   * A client context that trusts only the CA certificates in {@code caFile} (named {@code setting}
   * in errors).
   */
  public static SSLContext client(Path caFile, String setting) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust(caFile, setting).getTrustManagers(), new SecureRandom());
      return context;
    } catch (GeneralSecurityException e) {
      throw new EndpointsRefusedException(
          "cannot make a TLS context trusting " + caFile + ": " + e.getMessage(), e);
    }
  }

  private static TrustManagerFactory trust(Path caFile, String setting) {
    return trust(caFile, read(caFile, setting), setting);
  }

  private static TrustManagerFactory trust(Path caFile, byte[] caPem, String setting) {
    try {
      KeyStore roots = KeyStore.getInstance("PKCS12");
      roots.load(null, null);
      int i = 0;
      for (Certificate ca : certificates(caFile, caPem, setting)) {
        roots.setCertificateEntry("ca-" + i++, ca);
      }
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(roots);
      return trust;
    } catch (GeneralSecurityException | IOException e) {
      throw new EndpointsRefusedException(
          "cannot trust the CA certificate " + caFile + " (" + setting + "): " + e.getMessage(), e);
    }
  }

  /** The X.509 certificates of a PEM file (the JDK reads PEM certificates itself); at least one. */
  private static Collection<? extends Certificate> certificates(
      Path file, byte[] pem, String setting) {
    try (InputStream in = new ByteArrayInputStream(pem)) {
      Collection<? extends Certificate> certificates =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certificates.isEmpty()) {
        throw new EndpointsRefusedException(
            "no certificate in "
                + file
                + " ("
                + setting
                + "): expected PEM, "
                + "-----BEGIN CERTIFICATE-----");
      }
      return certificates;
    } catch (IOException | GeneralSecurityException e) {
      throw new EndpointsRefusedException(
          "cannot read the certificate(s) " + file + " (" + setting + ", PEM): " + e.getMessage(),
          e);
    }
  }
}
