package dev.pekkoprover.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Who may read the node's guarded endpoints: a request with {@code Authorization: Bearer <token>}
 * matching the node's token file, or (HTTPS with a CA) one whose TLS client certificate the CA
 * signed. Without either: 401 with {@code WWW-Authenticate: Bearer}; with a wrong token: 403. When
 * no authentication is required (loopback without a token) everything passes.
 *
 * <p>Not to miss: the token is compared by its SHA-256 in constant time ({@link
 * MessageDigest#isEqual}), so neither its content nor its length leaks through response times; the
 * token itself is never logged.
 */
public final class EndpointGuard {

  /** What a request gets. */
  enum Outcome {
    ALLOWED,
    MISSING,
    WRONG
  }

  /** The outcome and, when refused, the one line the client is told. */
  record Verdict(Outcome outcome, String reason) {
    static final Verdict ALLOWED = new Verdict(Outcome.ALLOWED, null);
  }

  private final boolean required;
  private final byte[] tokenHash; // null: no token, only client certificates
  private final boolean clientCertificates;

  EndpointGuard(boolean required, Optional<String> token, boolean clientCertificates) {
    this.required = required;
    this.tokenHash = token.map(EndpointGuard::sha256).orElse(null);
    this.clientCertificates = clientCertificates;
  }

  /** The guard of {@code settings}, with the token read from its file; see {@link #readToken}. */
  static EndpointGuard of(HttpSettings settings) {
    return new EndpointGuard(
        settings.authenticationRequired(),
        settings.tokenFile().map(file -> readToken(file, "prover.http.token-file")),
        settings.clientCertificates());
  }

  /**
   * The token in {@code file}: its content without surrounding blanks and line breaks, one word.
   * Throws {@link EndpointsRefusedException} (naming {@code setting}) when the file cannot be read,
   * is empty or holds several words.
   */
  public static String readToken(Path file, String setting) {
    String token;
    try {
      token = Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      throw new EndpointsRefusedException(
          "cannot read the token file " + file + " (" + setting + "): " + e, e);
    }
    if (token.isEmpty()) {
      throw new EndpointsRefusedException(
          "the token file "
              + file
              + " ("
              + setting
              + ") is empty: write the token "
              + "into it, e.g. openssl rand -hex 32 > "
              + file);
    }
    if (token.chars().anyMatch(Character::isWhitespace)) {
      throw new EndpointsRefusedException(
          "the token file "
              + file
              + " ("
              + setting
              + ") holds more than one word: "
              + "write only the token into it");
    }
    return token;
  }

  boolean required() {
    return required;
  }

  /**
   * The verdict on a request with this {@code Authorization} header value (if any) and, when {@code
   * verifiedClientCertificate}, a TLS client certificate the node's CA signed (the handshake
   * verified it).
   */
  Verdict check(Optional<String> authorization, boolean verifiedClientCertificate) {
    if (!required || (clientCertificates && verifiedClientCertificate)) {
      return Verdict.ALLOWED;
    }
    String how =
        tokenHash == null
            ? "a TLS client certificate signed by the node's CA (prover.tls.ca-cert-file)"
            : "the header \"Authorization: Bearer <token>\" with the token of the node's prover.http.token-file"
                + (clientCertificates
                    ? ", or a TLS client certificate signed by the node's CA"
                    : "");
    if (authorization.isEmpty() || tokenHash == null) {
      return new Verdict(Outcome.MISSING, "this endpoint needs " + how);
    }
    String value = authorization.get().strip();
    int space = value.indexOf(' ');
    if (space < 0 || !value.substring(0, space).toLowerCase(Locale.ROOT).equals("bearer")) {
      return new Verdict(
          Outcome.MISSING,
          "the Authorization header is not a bearer token: this endpoint needs " + how);
    }
    byte[] given = sha256(value.substring(space + 1).strip());
    return MessageDigest.isEqual(given, tokenHash)
        ? Verdict.ALLOWED
        : new Verdict(
            Outcome.WRONG, "the bearer token is not this node's (prover.http.token-file)");
  }

  /**
   * {@code inner}, served only to requests the guard allows; the others get 401 or 403 with the
   * reason.
   */
  Route require(Route inner) {
    if (!required) {
      return inner;
    }
    return Directives.extractRequest(
        request -> {
          Verdict verdict =
              check(
                  request.getHeader("Authorization").map(HttpHeader::value), verifiedPeer(request));
          return switch (verdict.outcome()) {
            case ALLOWED -> inner;
            case MISSING ->
                Directives.complete(
                    HttpResponse.create()
                        .withStatus(StatusCodes.UNAUTHORIZED)
                        .addHeader(
                            WWWAuthenticate.create(HttpChallenge.create("Bearer", "prover-node")))
                        .withEntity(
                            ContentTypes.TEXT_PLAIN_UTF8,
                            "401 Unauthorized: " + verdict.reason() + "\n"));
            case WRONG ->
                Directives.complete(
                    HttpResponse.create()
                        .withStatus(StatusCodes.FORBIDDEN)
                        .withEntity(
                            ContentTypes.TEXT_PLAIN_UTF8,
                            "403 Forbidden: " + verdict.reason() + "\n"));
          };
        });
  }

  /**
   * Whether the request came over TLS with a client certificate (which the handshake checked
   * against the CA).
   */
  private boolean verifiedPeer(HttpRequest request) {
    if (!clientCertificates) {
      return false;
    }
    Optional<SslSessionInfo> session = request.getAttribute(AttributeKeys.sslSession);
    if (session.isEmpty()) {
      return false;
    }
    try {
      return session.get().getSession().getPeerCertificates().length > 0;
    } catch (SSLPeerUnverifiedException e) {
      return false; // the client sent none
    }
  }

  private static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
