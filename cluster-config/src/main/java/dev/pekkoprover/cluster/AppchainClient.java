package dev.pekkoprover.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

/**
 * A client of the appchain service's HTTP routes ({@code /appchain/...} on a sequencer node in
 * service mode), reached like {@code status} reaches a node ({@link GuardedNode}).
 *
 * <p>Three kinds of failure, which callers must tell apart: a submission the mempool refused (a
 * {@link Submission.Refused}: it will never be in a block); a service that did not answer (no
 * connection, a reset, a timeout, HTTP 503 UNAVAILABLE or another 5xx: {@link
 * Submission.Unavailable} or {@link UnavailableException}), after which the fate of a submitted
 * transaction is unknown until {@link #status} says; and an answer outside the contract (HTTP 401,
 * 403, a 404 of a route, a body that is not the contract's JSON: {@link AnswerException}), which
 * retrying will not mend.
 */
final class AppchainClient {
  /**
   * Generous against a service that answers in milliseconds: a stalled one should free the caller
   * well before an operator gives up, and a killed one resets the connection at once.
   */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

  private static final ObjectMapper JSON = new ObjectMapper();

  private final GuardedNode node;

  AppchainClient(GuardedNode node) {
    this.node = node;
  }

  /** The node this client talks to. */
  GuardedNode node() {
    return node;
  }

  /** The service's answer to {@code POST /appchain/transactions}. */
  sealed interface Submission {
    /**
     * Accepted and durably journaled (HTTP 202, or 200 when it had been accepted before): it will
     * be in a block.
     */
    record Accepted(String hash) implements Submission {}

    /**
     * Refused (HTTP 422 or 400 by the mempool's rules, HTTP 503 MEMPOOL_FULL): it will never be in
     * a block.
     *
     * @param hash the transaction's hash, or null when the service could not compute it
     */
    record Refused(String hash, RefusalReason reason, String message) implements Submission {}

    /** No answer, or HTTP 503 UNAVAILABLE or another 5xx: the transaction's fate is unknown. */
    record Unavailable(String message) implements Submission {}
  }

  /**
   * A transaction's status ({@code GET /appchain/transactions/{hash}}).
   *
   * @param status {@code pending}, {@code in-block}, {@code proven} or {@code unknown} (never
   *     accepted)
   * @param block the block it is in, or -1 when pending or unknown
   */
  record TxStatus(String hash, String status, long block) {
    static final String PENDING = "pending";
    static final String IN_BLOCK = "in-block";
    static final String PROVEN = "proven";
    static final String UNKNOWN = "unknown";

    /** True when the service accepted it (pending, in a block or proven). */
    boolean known() {
      return !UNKNOWN.equals(status);
    }
  }

  /**
   * The chain's heights ({@code GET /appchain/chain}).
   *
   * @param height blocks produced
   * @param provenHeight blocks proven from genesis without a gap: block N is proven when N is below
   * @param pending transactions in the mempool
   * @param accepted transactions accepted in all
   */
  record ChainView(
      long height,
      long provenHeight,
      long pending,
      long accepted,
      String stateRoot,
      String genesisStateRoot) {}

  /**
   * An account ({@code GET /appchain/accounts/{address}}).
   *
   * @param nonce the committed nonce
   * @param pendingNonce the nonce the account's next transaction must carry (after its pending
   *     ones)
   */
  record AccountView(String address, long balance, long nonce, long pendingNonce) {}

  /** The service did not answer, or answered 5xx: try again later. */
  static final class UnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    private final boolean busy;

    UnavailableException(String message, boolean busy) {
      super(message, null, false, false);
      this.busy = busy;
    }

    /**
     * True when the node is there but busy or still starting: it answered 5xx, or it took the
     * connection and the request timed out. False when the connection was refused, timed out, reset
     * or spoke another protocol: a node not started, a wrong host, port or scheme, which waiting
     * seldom mends.
     */
    boolean busy() {
      return busy;
    }
  }

  /** An answer outside the contract: retrying will not help (wrong token, not a service node). */
  static final class AnswerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    AnswerException(String message) {
      super(message, null, false, false);
    }
  }

  /** {@link #submitAsync}, waited for. */
  Submission submit(SignedTransfer tx) throws InterruptedException {
    return await(submitAsync(tx));
  }

  /**
   * The body of {@code POST /appchain/transactions} for {@code tx}: {@code
   * {"from","to","amount","nonce","signature"}}.
   */
  static String body(SignedTransfer tx) {
    ObjectNode body = JSON.createObjectNode();
    body.put("from", tx.transfer().from());
    body.put("to", tx.transfer().to());
    body.put("amount", tx.transfer().amount());
    body.put("nonce", tx.transfer().nonce());
    body.put("signature", tx.signature());
    return body.toString();
  }

  /**
   * Posts {@code tx}. The future never fails with {@link UnavailableException} (that is a {@link
   * Submission.Unavailable}); it fails with an {@link AnswerException} for an answer outside the
   * contract.
   */
  CompletableFuture<Submission> submitAsync(SignedTransfer tx) {
    HttpRequest request =
        node.request("/appchain/transactions", REQUEST_TIMEOUT)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body(tx)))
            .build();
    return node.client()
        .sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .handle(
            (response, failure) -> {
              if (failure != null) {
                return new Submission.Unavailable(noAnswer("/appchain/transactions", failure));
              }
              return submission(response);
            });
  }

  private Submission submission(HttpResponse<String> response) {
    int code = response.statusCode();
    if (code == 202 || code == 200) { // 200: accepted before (the same hash), not queued again
      return new Submission.Accepted(text(parse(response), "hash", response));
    }
    if (code == 503 || code >= 500) {
      JsonNode body = parseOrNull(response.body());
      String refused = body == null ? null : body.path("refused").asText(null);
      String message = body == null ? null : body.path("message").asText(null);
      if (code == 503 && RefusalReason.MEMPOOL_FULL.name().equals(refused)) {
        return new Submission.Refused(
            body.path("hash").asText(null), RefusalReason.MEMPOOL_FULL, message);
      }
      return new Submission.Unavailable(
          "HTTP "
              + code
              + (refused == null ? "" : " " + refused)
              + ": "
              + describe(message, response));
    }
    if (code == 422 || code == 400) {
      JsonNode body = parse(response);
      String refused = text(body, "refused", response);
      RefusalReason reason;
      try {
        reason = RefusalReason.valueOf(refused);
      } catch (IllegalArgumentException e) {
        throw unexpected(response, "refusal reason '" + refused + "' is none of the contract's");
      }
      JsonNode hash = body.get("hash");
      return new Submission.Refused(
          hash == null || hash.isNull() ? null : hash.asText(),
          reason,
          body.path("message").asText(""));
    }
    throw unexpected(response, null);
  }

  /** {@code GET /appchain/transactions/{hash}}: unknown (404 with that status) is an answer. */
  TxStatus status(String hash) throws UnavailableException, InterruptedException {
    return awaitGet(statusAsync(hash));
  }

  /**
   * {@link #status}, not waited for: fails with {@link UnavailableException} or {@link
   * AnswerException}.
   */
  CompletableFuture<TxStatus> statusAsync(String hash) {
    return get(
        "/appchain/transactions/" + hash,
        response -> {
          JsonNode body = parseOrNull(response.body());
          if (response.statusCode() == 404
              && body != null
              && TxStatus.UNKNOWN.equals(body.path("status").asText())) {
            return new TxStatus(hash, TxStatus.UNKNOWN, -1);
          }
          if (response.statusCode() != 200 || body == null) {
            throw unexpected(response, null);
          }
          return new TxStatus(hash, text(body, "status", response), body.path("block").asLong(-1));
        });
  }

  /** {@code GET /appchain/chain}. */
  ChainView chain() throws UnavailableException, InterruptedException {
    return awaitGet(chainAsync());
  }

  /** {@link #chain}, not waited for. */
  CompletableFuture<ChainView> chainAsync() {
    return get(
        "/appchain/chain",
        response -> {
          JsonNode body = ok(response);
          return new ChainView(
              number(body, "height", response),
              number(body, "provenHeight", response),
              number(body, "pending", response),
              number(body, "accepted", response),
              body.path("stateRoot").asText(null),
              body.path("genesisStateRoot").asText(null));
        });
  }

  /** {@code GET /appchain/accounts/{address}}. */
  AccountView account(String address) throws UnavailableException, InterruptedException {
    return awaitGet(accountAsync(address));
  }

  /** {@link #account}, not waited for. */
  CompletableFuture<AccountView> accountAsync(String address) {
    return get(
        "/appchain/accounts/" + address,
        response -> {
          JsonNode body = ok(response);
          return new AccountView(
              address,
              number(body, "balance", response),
              number(body, "nonce", response),
              number(body, "pendingNonce", response));
        });
  }

  private <T> CompletableFuture<T> get(String path, Function<HttpResponse<String>, T> parse) {
    HttpRequest request = node.request(path, REQUEST_TIMEOUT).GET().build();
    return node.client()
        .sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .handle(
            (response, failure) -> {
              if (failure != null) {
                throw new CompletionException(
                    new UnavailableException(noAnswer(path, failure), busy(unwrap(failure))));
              }
              if (response.statusCode() >= 500) {
                JsonNode body = parseOrNull(response.body());
                throw new CompletionException(
                    new UnavailableException(
                        "HTTP "
                            + response.statusCode()
                            + " from "
                            + node.uri(path)
                            + ": "
                            + describe(
                                body == null ? null : body.path("message").asText(null), response),
                        true));
              }
              return parse.apply(response);
            });
  }

  private static <T> T awaitGet(CompletableFuture<T> future)
      throws UnavailableException, InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnavailableException unavailable) {
        throw unavailable;
      }
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private static <T> T await(CompletableFuture<T> future) throws InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  /** The body of a 200 answer. */
  private JsonNode ok(HttpResponse<String> response) {
    if (response.statusCode() != 200) {
      throw unexpected(response, null);
    }
    return parse(response);
  }

  private JsonNode parse(HttpResponse<String> response) {
    JsonNode body = parseOrNull(response.body());
    if (body == null || !body.isObject()) {
      throw unexpected(response, "the body is not a JSON object");
    }
    return body;
  }

  private static JsonNode parseOrNull(String body) {
    try {
      return body == null || body.isBlank() ? null : JSON.readTree(body);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private String text(JsonNode body, String field, HttpResponse<String> response) {
    JsonNode value = body.get(field);
    if (value == null || !value.isTextual()) {
      throw unexpected(response, "no text field '" + field + "'");
    }
    return value.asText();
  }

  private long number(JsonNode body, String field, HttpResponse<String> response) {
    JsonNode value = body.get(field);
    if (value == null || !value.canConvertToLong()) {
      throw unexpected(response, "no number field '" + field + "'");
    }
    return value.asLong();
  }

  private AnswerException unexpected(HttpResponse<String> response, String what) {
    String uri = response.request().uri().toString();
    int code = response.statusCode();
    if (code == 401) {
      return new AnswerException(
          uri
              + " needs authentication (HTTP 401): give the node's token with --token-file <file>"
              + (node.token() == null ? "" : "; the node says: " + firstLine(response)));
    }
    if (code == 403) {
      return new AnswerException(
          uri + " refused the token (HTTP 403): it is not the node's prover.http.token-file");
    }
    if (code == 404 || code == 405) {
      return new AnswerException(
          uri
              + " answered HTTP "
              + code
              + ": is this the HTTP port of a sequencer node started with --service?");
    }
    return new AnswerException(
        uri
            + " answered HTTP "
            + code
            + (what == null ? "" : " (" + what + ")")
            + ", not the appchain service's answer: "
            + firstLine(response));
  }

  /**
   * A request that timed out waited for a node that took the connection: busy. A connection that
   * timed out is not (an {@link HttpConnectTimeoutException} is an {@link HttpTimeoutException}
   * too): a wrong or unreachable host is far likelier than a full accept backlog.
   */
  private static boolean busy(Throwable cause) {
    return cause instanceof HttpTimeoutException && !(cause instanceof HttpConnectTimeoutException);
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null
        ? failure.getCause()
        : failure;
  }

  private String noAnswer(String path, Throwable failure) {
    Throwable cause = unwrap(failure);
    String message = cause.getMessage();
    return "no answer from "
        + node.uri(path)
        + " ("
        + cause.getClass().getSimpleName()
        + (message == null || message.isBlank() ? "" : ": " + message)
        + ")";
  }

  private static String describe(String message, HttpResponse<String> response) {
    return message != null ? message : firstLine(response);
  }

  private static String firstLine(HttpResponse<String> response) {
    String body = response.body();
    return body == null ? "" : body.lines().findFirst().orElse("").strip();
  }
}
