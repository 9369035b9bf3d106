package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The node's HTTP endpoints, read once from {@code prover.http} and the node's TLS identity {@code
 * prover.tls} (defaults and reasons in this module's {@code reference.conf}).
 *
 * @param enabled whether the node serves them
 * @param host the address to bind: loopback unless remote access is wanted
 * @param port 0 for a free port
 * @param statusTimeout how long {@code /status} waits for the queue and the sequencer
 * @param https serve HTTPS with {@code tls}' key and certificate instead of plain HTTP
 * @param tls the node's PEM files; a CA certificate also lets clients in by a certificate it signed
 *     (HTTPS only)
 * @param tokenFile the file holding the bearer token every request must carry; empty: no token
 * @param openHealth whether {@code /health/alive} and {@code /health/ready} answer without a token
 * @param allowInsecureRemote serve a non-loopback address without HTTPS or without a token or
 *     client certificates
 */
public record HttpSettings(
    boolean enabled,
    String host,
    int port,
    Duration statusTimeout,
    boolean https,
    TlsFiles tls,
    Optional<Path> tokenFile,
    boolean openHealth,
    boolean allowInsecureRemote) {

  /**
   * The node's TLS identity, PEM files, each empty when not configured.
   *
   * @param keyFile the node's private key (RSA, PKCS#8 {@code PRIVATE KEY} or PKCS#1 {@code RSA
   *     PRIVATE KEY})
   * @param certFile the node's certificate, optionally followed by the intermediate ones
   * @param caCertFile the CA certificate(s) that signed the fleet's certificates
   */
  public record TlsFiles(
      Optional<Path> keyFile, Optional<Path> certFile, Optional<Path> caCertFile) {
    static TlsFiles fromConfig(Config tls) {
      return new TlsFiles(path(tls, "key-file"), path(tls, "cert-file"), path(tls, "ca-cert-file"));
    }
  }

  public HttpSettings {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "prover.http.port must be 0 (a free port) to 65535, was " + port);
    }
  }

  public static HttpSettings fromConfig(Config config) {
    Config http = config.getConfig("prover.http");
    return new HttpSettings(
        http.getBoolean("enabled"),
        http.getString("host"),
        http.getInt("port"),
        http.getDuration("status-timeout"),
        http.getBoolean("https"),
        TlsFiles.fromConfig(config.getConfig("prover.tls")),
        path(http, "token-file"),
        http.getBoolean("open-health"),
        http.getBoolean("allow-insecure-remote"));
  }

  /**
   * Whether {@code host} is reachable from other machines: anything but a loopback address (or a
   * name of one).
   */
  public boolean remote() {
    try {
      return !InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return true; // binding fails anyway, with its own message
    }
  }

  /**
   * Whether a client may come in with a certificate signed by the node's CA instead of the token.
   */
  public boolean clientCertificates() {
    return https && tls.caCertFile().isPresent();
  }

  /**
   * Whether every request (but the open health probes and the dashboard's files) must authenticate.
   */
  public boolean authenticationRequired() {
    return tokenFile.isPresent() || (remote() && clientCertificates());
  }

  /**
   * Whether a remote bind lacks HTTPS or a way to authenticate, served anyway by {@code
   * allowInsecureRemote}.
   */
  public boolean insecureRemote() {
    return remote() && !(https && (tokenFile.isPresent() || clientCertificates()));
  }

  /**
   * Checks the rule "a non-loopback address needs HTTPS and a token or client certificates" and
   * that HTTPS has its key and certificate; throws {@link EndpointsRefusedException} with one line
   * saying what to configure.
   */
  public void check() {
    if (!enabled) {
      return;
    }
    if (https && (tls.keyFile().isEmpty() || tls.certFile().isEmpty())) {
      throw new EndpointsRefusedException(
          "prover.http.https = on (--http-tls) needs the node's PEM key and "
              + "certificate: give --tls <dir> (tls.key, tls.crt, ca.crt as `prover-node keys` "
              + "makes them), or set prover.tls.key-file and prover.tls.cert-file");
    }
    if (insecureRemote() && !allowInsecureRemote) {
      throw new EndpointsRefusedException(
          "refusing to serve the HTTP endpoints (status, metrics, dashboard) on "
              + host
              + ", which is not loopback, without HTTPS and a token: set prover.http.https = on (--http-tls) "
              + "with prover.tls.key-file and cert-file, and prover.http.token-file (--http-token-file or "
              + "PROVER_HTTP_TOKEN_FILE) or prover.tls.ca-cert-file for client certificates; or bind 127.0.0.1 "
              + "(--http-host); prover.http.allow-insecure-remote = on serves it unprotected");
    }
  }

  private static Optional<Path> path(Config config, String key) {
    String value = config.hasPath(key) ? config.getString(key).trim() : "";
    return value.isEmpty() ? Optional.empty() : Optional.of(Path.of(value));
  }
}
