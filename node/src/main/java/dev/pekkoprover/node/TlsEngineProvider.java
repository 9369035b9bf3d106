package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.function.BiFunction;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.event.LogSource$;
import org.apache.pekko.event.Logging;
import org.apache.pekko.event.MarkerLoggingAdapter;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Artery's TLS engines: Pekko's {@link RotatingKeysSSLEngineProvider} (peers checked by {@code
 * PeerSubjectVerifier}), over files checked first ({@link CheckedTlsFiles}: changed files are used
 * from the next connection once they pass the start-up check, and files that fail it are never
 * used), with one more addition: a peer it refuses is logged. Pekko drops a failed inbound TLS
 * connection without a word (the refusing node's log stays empty while a stranger retries every few
 * seconds), and the joining side sees only a stream failure per retry. Here each refusal becomes
 * one WARN line on {@code dev.pekkoprover.node.TlsEngineProvider} naming the kind (no TLS at all,
 * no or another CA's certificate, a certificate of another cluster) and the fix, at most once per
 * peer and kind every 10 minutes ({@link PeerRefusals}).
 *
 * <p>An inbound engine is created before the connection's remote address is known (Pekko passes its
 * own bind address), so an inbound line names the peer by its certificate's subject when it sent
 * one, not by address.
 */
public final class TlsEngineProvider implements SSLEngineProvider {
  private static final Logger log = LoggerFactory.getLogger(TlsEngineProvider.class);

  /** How often a refusal of the same kind from the same peer is logged again. */
  private static final Duration REPEAT_EVERY = Duration.ofMinutes(10);

  /** The name of this part's line in {@code /status}'s problems ({@link NodeProblems}). */
  static final String PROBLEM_PART = "tls-files";

  private final CheckedTlsFiles<SSLEngineProvider> files;
  private final PeerRefusals refusals = new PeerRefusals(REPEAT_EVERY, System::nanoTime);

  /**
   * Called by Artery (by reflection, {@code pekko.remote.artery.ssl.ssl-engine-provider}). Checks
   * the files now and then every {@code ssl-context-cache-ttl} ({@link CheckedTlsFiles}); exports
   * the certificate's end of validity and whether the files on disk fail ({@code
   * prover_tls_certificate_expiry_timestamp_seconds}, {@code prover_tls_files_unusable}) and names
   * a failure in {@code /status}'s problems.
   */
  public TlsEngineProvider(ActorSystem system) {
    Config engine = system.settings().config().getConfig(ClusterTls.ENGINE);
    MarkerLoggingAdapter pekkoLog =
        Logging.withMarker(
            system, RotatingKeysSSLEngineProvider.class.getName(), LogSource$.MODULE$.fromString());
    Config artery = system.settings().config().getConfig("pekko.remote.artery.canonical");
    this.files =
        CheckedTlsFiles.forArtery(
            ClusterTls.engineFiles(system.settings().config()),
            system.name(),
            artery.getString("hostname") + ":" + artery.getInt("port"),
            engine,
            config -> new RotatingKeysSSLEngineProvider(config, pekkoLog),
            System::nanoTime,
            log);
    org.apache.pekko.actor.typed.ActorSystem<Void> typed = Adapter.toTyped(system);
    CheckedTlsFiles.watch(files, typed, PROBLEM_PART, true, log);
    HttpsTls.ArteryFiles.get(typed).set(files);
  }

  @Override
  public SSLEngine createServerSSLEngine(String hostname, int port) {
    return new ReportingEngine(
        files.engine().createServerSSLEngine(hostname, port), null, this::handshakeFailed);
  }

  @Override
  public SSLEngine createClientSSLEngine(String hostname, int port) {
    return new ReportingEngine(
        files.engine().createClientSSLEngine(hostname, port),
        hostname + ":" + port,
        this::handshakeFailed);
  }

  @Override
  public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
    Option<Throwable> refused = files.current().verifyClientSession(hostname, session);
    if (refused.isDefined()) {
      report(
          "out " + hostname,
          "refused the TLS connection to "
              + hostname
              + ": its certificate ("
              + subject(session)
              + ") does not name this node's cluster ("
              + refused.get().getMessage()
              + "): it is a "
              + "node of another cluster under the same CA, or this node's certificate names the wrong cluster");
    }
    return refused;
  }

  @Override
  public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
    Option<Throwable> refused = files.current().verifyServerSession(hostname, session);
    if (refused.isDefined()) {
      String peer = subject(session);
      report(
          "in " + peer,
          "refused a node's connection: its certificate ("
              + peer
              + ") does not name this "
              + "node's cluster ("
              + refused.get().getMessage()
              + "): it is a node of another cluster under the same "
              + "CA, or its certificate was issued with another --cluster-name");
    }
    return refused;
  }

  /**
   * Called once per engine whose handshake failed; {@code peer} is null for an inbound connection.
   */
  private void handshakeFailed(String peer, SSLHandshakeFailure failure) {
    String reason = failure.reason();
    String kind = failure.kind();
    // a handshake cut short without a refusal (a peer that died or closed mid-handshake) is no
    // stranger: INFO
    boolean refusal = !kind.equals(SSLHandshakeFailure.UNKNOWN);
    if (peer == null) {
      String who =
          failure.peerSubject() == null ? "" : " (certificate " + failure.peerSubject() + ")";
      report(
          "in " + kind + " " + failure.peerSubject(),
          (refusal
                  ? "refused a node's connection"
                  : "an inbound TLS " + "connection ended before its handshake completed")
              + who
              + ": "
              + kind
              + " ["
              + reason
              + "]",
          refusal);
    } else {
      report(
          "out " + peer + " " + kind,
          "TLS connection to " + peer + " failed: " + kind + " [" + reason + "]",
          refusal);
    }
  }

  private void report(String key, String line) {
    report(key, line, true);
  }

  private void report(String key, String line, boolean warn) {
    String logged = refusals.report(key, line);
    if (logged != null && warn) {
      log.warn(logged);
    } else if (logged != null) {
      log.info(logged);
    }
  }

  private static String subject(SSLSession session) {
    try {
      Certificate[] chain = session.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x509
          ? x509.getSubjectX500Principal().getName()
          : "none";
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      return "none";
    }
  }

  /** What went wrong in a handshake, in words an operator can act on. */
  record SSLHandshakeFailure(String kind, String reason, String peerSubject) {
    static SSLHandshakeFailure of(SSLException e, String peerSubject, boolean inbound) {
      String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      return new SSLHandshakeFailure(kind(reason, inbound), reason, peerSubject);
    }

    /** The likely cause of a JDK handshake error message and its fix. */
    static String kind(String reason, boolean inbound) {
      String text = reason.toLowerCase(java.util.Locale.ROOT);
      if (text.contains("unsupported or unrecognized ssl message") || text.contains("plaintext")) {
        return inbound
            ? "it does not speak TLS (a node started with --no-tls, or an HTTP client such as"
                + " 'status --node' given the cluster port instead of the node's --http-port?)"
            : "the peer does not speak TLS (a node started with --no-tls, or not a cluster port at"
                + " all: a --seeds address that names a node's --http-port?)";
      }
      if (text.contains("empty client certificate chain")
          || text.contains("certificate_required")) {
        return "it sent no certificate";
      }
      if (text.contains("pkix")
          || text.contains("certification path")
          || text.contains("signature check failed")
          || text.contains("certpathvalidator")) {
        return inbound
            ? "its certificate is not from this cluster's CA (ca.crt)"
            : "the peer's certificate is not from this node's CA (ca.crt)";
      }
      if (text.contains("received fatal alert")) {
        return inbound
            ? "the connecting peer ended the handshake: it does not trust this node's certificate "
                + "(another CA?)"
            : "the peer refused this node's certificate: it is not from the cluster's CA, or expired";
      }
      if (text.contains("expired") || text.contains("not yet valid")) {
        return inbound
            ? "its certificate is expired or not yet valid"
            : "a certificate is expired or not yet valid";
      }
      return UNKNOWN;
    }

    /**
     * A failure of no known kind: the peer closed or died mid-handshake, or an error we do not
     * recognise.
     */
    static final String UNKNOWN = "TLS handshake failed";
  }

  /**
   * An SSLEngine that passes every call to Pekko's and reports the first exception of a handshake
   * that never finished (the TLS stage runs the JDK's certificate checks as delegated tasks; their
   * failure is thrown from the next wrap or unwrap). Errors after the handshake (a closed
   * connection) are not reported.
   */
  private static final class ReportingEngine extends SSLEngine {
    private final SSLEngine engine;
    private final String peer;
    private final java.util.function.BiConsumer<String, SSLHandshakeFailure> onFailure;
    private volatile boolean established;
    private volatile boolean reported;

    ReportingEngine(
        SSLEngine engine,
        String peer,
        java.util.function.BiConsumer<String, SSLHandshakeFailure> report) {
      super(engine.getPeerHost(), engine.getPeerPort());
      this.engine = engine;
      this.peer = peer;
      this.onFailure = report;
    }

    private SSLEngineResult seen(SSLEngineResult result) {
      if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
        established = true;
      }
      return result;
    }

    private SSLException failed(SSLException e) {
      if (!established && !reported) {
        reported = true;
        onFailure.accept(peer, SSLHandshakeFailure.of(e, handshakePeer(), peer == null));
      }
      return e;
    }

    private String handshakePeer() {
      try {
        SSLSession session = engine.getHandshakeSession();
        if (session == null) {
          return null;
        }
        Certificate[] chain = session.getPeerCertificates();
        if (chain.length > 0 && chain[0] instanceof X509Certificate x509) {
          return x509.getSubjectX500Principal().getName()
              + ", issued by "
              + x509.getIssuerX500Principal().getName();
        }
        return null;
      } catch (javax.net.ssl.SSLPeerUnverifiedException | RuntimeException e) {
        return null;
      }
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length, ByteBuffer dst)
        throws SSLException {
      try {
        return seen(engine.wrap(srcs, offset, length, dst));
      } catch (SSLException e) {
        throw failed(e);
      }
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer src, ByteBuffer[] dsts, int offset, int length)
        throws SSLException {
      try {
        return seen(engine.unwrap(src, dsts, offset, length));
      } catch (SSLException e) {
        throw failed(e);
      }
    }

    @Override
    public Runnable getDelegatedTask() {
      return engine.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
      try {
        engine.closeInbound();
      } catch (SSLException e) {
        throw failed(e);
      }
    }

    @Override
    public boolean isInboundDone() {
      return engine.isInboundDone();
    }

    @Override
    public void closeOutbound() {
      engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
      return engine.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
      return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
      return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
      engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
      return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
      return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
      engine.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
      return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
      return engine.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
      engine.beginHandshake();
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
      return engine.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
      engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
      return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
      engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
      return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
      engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
      return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
      engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
      return engine.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
      return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters params) {
      engine.setSSLParameters(params);
    }

    @Override
    public String getApplicationProtocol() {
      return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
      return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(
        BiFunction<SSLEngine, List<String>, String> selector) {
      engine.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
      return engine.getHandshakeApplicationProtocolSelector();
    }
  }
}
