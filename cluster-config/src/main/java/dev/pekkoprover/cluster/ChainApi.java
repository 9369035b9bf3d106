package dev.pekkoprover.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Transfer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The appchain service's HTTP API (JSON), mounted on the sequencer node's HTTP server:
 *
 * <ul>
 *   <li>{@code POST /appchain/transactions} with {@code {"from","to","amount","nonce","signature"}}
 *       (addresses: 64 hex digits, the sender's raw Ed25519 public key; signature: 128 hex digits
 *       over {@link Transfer#signingBytes()}): 202 {@code {"hash","status":"pending"}} once the
 *       transaction is journaled; 200 {@code {"hash","status","block","alreadyAccepted":true,
 *       "message"}} for one accepted before (the same hash: a client's retry after a lost answer),
 *       not queued again; 422 {@code {"hash","refused","message"}} with the mempool's reason
 *       ({@code BAD_SIGNATURE}, {@code BAD_NONCE}, {@code OVERDRAFT}, {@code INVALID_AMOUNT},
 *       {@code MALFORMED}); 400 for a body that is not such JSON, naming the field (a signature
 *       that is not 128 hex digits included); 413 over {@link #MAX_BODY_BYTES}; 503 with {@code
 *       Retry-After: 1} when the mempool is full ({@code MEMPOOL_FULL}) or the service does not
 *       answer in time ({@code UNAVAILABLE}: starting, recovering, or its database down); 503
 *       {@code SHUTTING_DOWN} with {@code Retry-After: 5} once the node's CoordinatedShutdown has
 *       begun, when nothing is accepted any more (the read-only routes keep answering).
 *   <li>{@code GET /appchain/transactions/<hash>}: 200 {@code {"hash","status","block"}} with
 *       status {@code pending}, {@code in-block} or {@code proven}; 404 with status {@code
 *       unknown}.
 *   <li>{@code GET /appchain/chain}: height, proven height, pending, accepted, the state root and
 *       last block hash, the genesis root and the last batch proof's public outputs.
 *   <li>{@code GET /appchain/accounts/<address>}: balance and nonce committed, and the nonce the
 *       address's next transaction must carry ({@code pendingNonce}).
 * </ul>
 */
final class ChainApi {
  /** A transfer's JSON is about 350 bytes; anything much larger is not one. */
  static final long MAX_BODY_BYTES = 16 * 1024;

  static final String PREFIX = "appchain";

  /** Hex digits of an Ed25519 signature (64 bytes). */
  static final int SIGNATURE_HEX_DIGITS = 128;

  /** The {@code Retry-After} of a submission refused because the node is shutting down. */
  static final long SHUTDOWN_RETRY_AFTER_SECONDS = 5;

  /** How long the body of one request may take to arrive. */
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(5);

  /**
   * Strict: every field present, amounts and nonces whole JSON numbers (not 5.5, not "5": a
   * transfer is signed over exact integers, and a value the API would round is refused instead).
   */
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
          // {"from": a, "from": b} is ambiguous (Jackson kept the last; a proxy or signer may read
          // the first): refused, as a trial found it accepted
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /** The body of {@code POST /appchain/transactions}. */
  record TransactionBody(String from, String to, long amount, long nonce, String signature) {
    static TransactionBody of(SignedTransfer signed) {
      Transfer transfer = signed.transfer();
      return new TransactionBody(
          transfer.from(), transfer.to(), transfer.amount(), transfer.nonce(), signed.signature());
    }

    SignedTransfer signed() {
      return new SignedTransfer(new Transfer(from, to, amount, nonce), signature);
    }
  }

  private ChainApi() {}

  /**
   * @param service the chain service
   * @param system the node's actor system: once its CoordinatedShutdown has begun, a submission is
   *     refused 503 {@code SHUTTING_DOWN} (the endpoints stay bound through the shutdown's drain)
   * @param timeout how long a request waits for the service before it is answered 503
   */
  static Route routes(
      ActorRef<ChainService.Command> service, ActorSystem<?> system, Duration timeout) {
    Scheduler scheduler = system.scheduler();
    BooleanSupplier shuttingDown =
        () -> CoordinatedShutdown.get(system).getShutdownReason().isPresent();
    Route transactions =
        Directives.concat(
            Directives.pathEndOrSingleSlash(
                () -> Directives.post(() -> receive(service, scheduler, timeout, shuttingDown))),
            Directives.path(
                PathMatchers.segment(),
                hash -> Directives.get(() -> transaction(hash, service, scheduler, timeout))));
    Route chain =
        Directives.get(
            () ->
                ask(
                    service,
                    scheduler,
                    timeout,
                    ChainService.GetChain::new,
                    view -> json(StatusCodes.OK, view)));
    return Directives.pathPrefix(
        PREFIX,
        () ->
            Directives.concat(
                Directives.pathPrefix("transactions", () -> transactions),
                Directives.path("chain", () -> chain),
                Directives.path(
                    PathMatchers.segment("accounts").slash(PathMatchers.segment()),
                    address ->
                        Directives.get(() -> account(address, service, scheduler, timeout)))));
  }

  /**
   * What the API answers until the service is ready (the node waits for workers, compiles circuits,
   * the chain recovers its journal): 503 {@code UNAVAILABLE} with {@code Retry-After: 1} on every
   * path, so that a client backs off instead of taking the node for one without the service.
   */
  static Route starting() {
    return Directives.pathPrefix(
        PREFIX,
        () ->
            Directives.complete(
                refusal(
                        StatusCodes.SERVICE_UNAVAILABLE,
                        null,
                        "UNAVAILABLE",
                        "the appchain service is starting (waiting for workers, compiling "
                            + "circuits or recovering its journal): try again")
                    .addHeader(RetryAfter.create(1L))));
  }

  private static Route transaction(
      String hash, ActorRef<ChainService.Command> service, Scheduler scheduler, Duration timeout) {
    if (!Accounts.isAddress(hash)) { // the same shape: 32 bytes in hex
      return malformed(
          "a transaction hash is 64 hex digits (as POST answered it), not '" + hash + "'");
    }
    String normalised = hash.toLowerCase(Locale.ROOT);
    return ask(
        service,
        scheduler,
        timeout,
        (ActorRef<ChainState.TxStatus> replyTo) ->
            new ChainService.GetTransaction(normalised, replyTo),
        status ->
            json(
                status.status().equals("unknown") ? StatusCodes.NOT_FOUND : StatusCodes.OK,
                statusBody(status)));
  }

  /** 400 {@code MALFORMED}: a path segment that cannot be what it names. */
  private static Route malformed(String message) {
    return Directives.complete(
        refusal(StatusCodes.BAD_REQUEST, null, RefusalReason.MALFORMED.name(), message));
  }

  private static Route account(
      String address,
      ActorRef<ChainService.Command> service,
      Scheduler scheduler,
      Duration timeout) {
    if (!Accounts.isAddress(address)) {
      return malformed(
          "an address is 64 hex digits (a raw Ed25519 public key), not '" + address + "'");
    }
    return ask(
        service,
        scheduler,
        timeout,
        (ActorRef<ChainService.AccountView> replyTo) ->
            new ChainService.GetAccount(address, replyTo),
        view -> json(StatusCodes.OK, view));
  }

  /**
   * Reads the body (at most {@link #MAX_BODY_BYTES}), then {@link #submit}s it, or refuses it with
   * {@link #shuttingDown()} once {@code shuttingDown} says so.
   */
  private static Route receive(
      ActorRef<ChainService.Command> service,
      Scheduler scheduler,
      Duration timeout,
      BooleanSupplier shuttingDown) {
    return Directives.extractRequestEntity(
        entity ->
            Directives.extractMaterializer(
                materializer ->
                    Directives.onComplete(
                        entity.toStrict(BODY_TIMEOUT.toMillis(), MAX_BODY_BYTES, materializer),
                        body ->
                            shuttingDown.getAsBoolean()
                                ? Directives.complete(shuttingDown())
                                : body.isSuccess() && body.get().getData().length() > MAX_BODY_BYTES
                                    ? Directives.complete(tooLarge())
                                    : body.isSuccess()
                                        ? submit(
                                            body.get().getData().utf8String(),
                                            service,
                                            scheduler,
                                            timeout)
                                        : Directives.complete(unreadable(body.failed().get())))));
  }

  private static Route submit(
      String body, ActorRef<ChainService.Command> service, Scheduler scheduler, Duration timeout) {
    SignedTransfer transaction;
    try {
      transaction = JSON.readValue(body, TransactionBody.class).signed();
    } catch (JsonProcessingException | RuntimeException e) {
      return Directives.complete(
          refusal(
              StatusCodes.BAD_REQUEST,
              null,
              RefusalReason.MALFORMED.name(),
              "the body must be JSON {\"from\": <64 hex>, \"to\": <64 hex>, \"amount\": <long>, "
                  + "\"nonce\": <long>, \"signature\": <128 hex>}: "
                  + whatIsWrong(e)));
    }
    String signatureProblem = signatureProblem(transaction.signature());
    if (signatureProblem != null) {
      return Directives.complete(
          refusal(
              StatusCodes.BAD_REQUEST,
              null,
              RefusalReason.MALFORMED.name(),
              "'signature' is not a signature (the sender's Ed25519 signature over the transfer's"
                  + " signing bytes): "
                  + signatureProblem));
    }
    // The Ed25519 check (about a millisecond of CPU with the JDK's provider) runs here, on the HTTP
    // server's threads side by side, not on the chain's one thread; a transfer whose addresses are
    // malformed goes to the chain unchecked, which refuses it as MALFORMED first.
    boolean wellFormed =
        Accounts.isAddress(transaction.transfer().from())
            && Accounts.isAddress(transaction.transfer().to());
    if (wellFormed && !transaction.signatureValid()) {
      return Directives.complete(
          refusal(
              StatusCodes.UNPROCESSABLE_CONTENT,
              transaction.hash(),
              RefusalReason.BAD_SIGNATURE.name(),
              "signature does not verify against sender " + transaction.transfer().from()));
    }
    return ask(
        service,
        scheduler,
        timeout,
        waitedNanos ->
            unanswered(
                transaction.hash(),
                timeout,
                waitedNanos,
                "(recovering its journal, its database down, or the chain moving to another"
                    + " sequencer node): this transaction may"
                    + " have been accepted all the same. Send the same body again (200 alreadyAccepted"
                    + " if it was) or ask GET /appchain/transactions/"
                    + transaction.hash()
                    + "; never sign another transaction with this nonce until then"),
        (ActorRef<ChainService.SubmitReply> replyTo) ->
            new ChainService.Submit(transaction, wellFormed, replyTo),
        reply -> {
          if (reply.refused() == null && reply.acceptedBefore() != null) {
            Map<String, Object> again = statusBody(reply.acceptedBefore());
            again.put("alreadyAccepted", true);
            again.put(
                "message",
                "this transaction (the same hash) was accepted before; it is not queued again");
            return json(StatusCodes.OK, again);
          }
          if (reply.refused() == null) {
            return json(StatusCodes.ACCEPTED, Map.of("hash", reply.hash(), "status", "pending"));
          }
          if (reply.refused().equals(ChainService.SHUTTING_DOWN)) { // the chain's node stops
            return refusal(
                    StatusCodes.SERVICE_UNAVAILABLE, reply.hash(), reply.refused(), reply.message())
                .addHeader(RetryAfter.create(SHUTDOWN_RETRY_AFTER_SECONDS));
          }
          if (reply.refused().equals(RefusalReason.MEMPOOL_FULL.name())) {
            return refusal(
                    StatusCodes.SERVICE_UNAVAILABLE, reply.hash(), reply.refused(), reply.message())
                .addHeader(RetryAfter.create(1L));
          }
          return refusal(
              StatusCodes.UNPROCESSABLE_CONTENT, reply.hash(), reply.refused(), reply.message());
        });
  }

  /**
   * Asks the service; a service that does not answer in time is 503 {@code UNAVAILABLE}, "try
   * again" (a read).
   */
  private static <T> Route ask(
      ActorRef<ChainService.Command> service,
      Scheduler scheduler,
      Duration timeout,
      org.apache.pekko.japi.function.Function<ActorRef<T>, ChainService.Command> message,
      Function<T, HttpResponse> answer) {
    return ask(
        service,
        scheduler,
        timeout,
        waitedNanos ->
            unanswered(
                null,
                timeout,
                waitedNanos,
                "(starting, recovering its journal, its database down, the chain moving to another"
                    + " sequencer node, or this node shutting down): try again, or ask another node"
                    + " of the service"),
        message,
        answer);
  }

  /** Asks the service; {@code unanswered}'s answer if it does not answer in time. */
  private static <T> Route ask(
      ActorRef<ChainService.Command> service,
      Scheduler scheduler,
      Duration timeout,
      java.util.function.LongFunction<HttpResponse> unanswered,
      org.apache.pekko.japi.function.Function<ActorRef<T>, ChainService.Command> message,
      Function<T, HttpResponse> answer) {
    long asked = System.nanoTime();
    CompletionStage<HttpResponse> response;
    try {
      response =
          AskPattern.ask(service, message, timeout, scheduler)
              .handle(
                  (reply, error) ->
                      error == null
                          ? answer.apply(reply)
                          : unanswered.apply(System.nanoTime() - asked));
    } catch (RuntimeException e) { // the scheduler is gone: the node's actor system stops
      response =
          java.util.concurrent.CompletableFuture.completedFuture(
              unanswered.apply(System.nanoTime() - asked));
    }
    return Directives.completeWithFuture(response);
  }

  /**
   * 503 {@code UNAVAILABLE} with {@code Retry-After: 1}: the service did not answer in time, or the
   * ask failed long before the timeout ({@code waitedNanos} under half of it: Pekko fails an ask at
   * once, with the same TimeoutException, when the service has stopped, as it does on a node that
   * shuts down or hands the chain over; a trial read "did not answer within 5000 ms" 36 ms after
   * the request). For a submission ({@code hash} given) that is not a refusal: the service may
   * still accept it (its write was under way), so the answer names the hash to ask for.
   */
  static HttpResponse unanswered(String hash, Duration timeout, long waitedNanos, String why) {
    long waitedMillis = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(waitedNanos);
    String what =
        waitedNanos >= timeout.toNanos() / 2
            ? "did not answer within " + timeout.toMillis() + " ms "
            : "could not be asked (it had stopped here; the ask failed after "
                + waitedMillis
                + " ms) ";
    return refusal(
            StatusCodes.SERVICE_UNAVAILABLE,
            hash,
            "UNAVAILABLE",
            "the appchain service " + what + why)
        .addHeader(RetryAfter.create(1L));
  }

  /**
   * 503 {@code SHUTTING_DOWN}: the node's shutdown has begun and nothing is accepted any more; the
   * client sends the transaction again to another node or once this one has restarted.
   */
  private static HttpResponse shuttingDown() {
    return refusal(
            StatusCodes.SERVICE_UNAVAILABLE,
            null,
            ChainService.SHUTTING_DOWN,
            "the node is shutting down and accepts no new transaction (this one was not accepted):"
                + " send it again to another node of the appchain service, or to this one once it"
                + " has restarted")
        .addHeader(RetryAfter.create(SHUTDOWN_RETRY_AFTER_SECONDS));
  }

  /**
   * What keeps {@code signature} from being a signature's form (128 hex digits), in words, or null
   * when it has that form (whether it verifies is the mempool's check, 422 {@code BAD_SIGNATURE}).
   */
  static String signatureProblem(String signature) {
    if (signature == null) {
      return "it is missing";
    }
    if (signature.length() != SIGNATURE_HEX_DIGITS) {
      return "it is "
          + signature.length()
          + " character(s) long, a signature is "
          + SIGNATURE_HEX_DIGITS
          + " hex digits";
    }
    for (int i = 0; i < signature.length(); i++) {
      if (!java.util.HexFormat.isHexDigit(signature.charAt(i))) { // ASCII only, as parseHex
        return "character "
            + (i + 1)
            + " is not a hex digit (0-9, a-f), a signature is "
            + SIGNATURE_HEX_DIGITS
            + " hex digits";
      }
    }
    return null;
  }

  private static HttpResponse tooLarge() {
    return refusal(
        StatusCodes.CONTENT_TOO_LARGE,
        null,
        RefusalReason.MALFORMED.name(),
        "the body is over " + MAX_BODY_BYTES + " bytes: one transaction's JSON is about 350");
  }

  /** A body over {@link #MAX_BODY_BYTES} is 413, one that does not arrive in time 400. */
  private static HttpResponse unreadable(Throwable error) {
    for (Throwable cause = error; cause != null; cause = cause.getCause()) {
      // a streamed body fails with EntityStreamSizeException, a strict one with
      // EntityStreamException
      if (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamSizeException
          || (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamException
              && String.valueOf(cause.getMessage()).startsWith("Request too large"))) {
        return tooLarge();
      }
    }
    return refusal(
        StatusCodes.BAD_REQUEST,
        null,
        RefusalReason.MALFORMED.name(),
        "the body could not be read: "
            + error.getClass().getName()
            + firstLine(error.getMessage()));
  }

  private static Map<String, Object> statusBody(ChainState.TxStatus status) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("hash", status.hash());
    body.put("status", status.status());
    if (status.block() != null) {
      body.put("block", status.block());
    }
    if (status.status().equals("unknown")) {
      body.put(
          "message",
          "no transaction with this hash was accepted (refused ones are not kept, nor the status "
              + "of transactions older than the latest prover.appchain-service.tx-index-size)");
    }
    return body;
  }

  private static HttpResponse refusal(StatusCode code, String hash, String reason, String message) {
    Map<String, Object> body = new LinkedHashMap<>();
    if (hash != null) {
      body.put("hash", hash);
    }
    body.put("refused", reason);
    body.put("message", message);
    return json(code, body);
  }

  private static HttpResponse json(StatusCode code, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(code)
          .withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "cannot write " + body.getClass().getSimpleName() + " as JSON", e);
    }
  }

  /** What is wrong with a transaction's body, in the API's terms (no Java types). */
  private static String whatIsWrong(Exception e) {
    if (e instanceof InputCoercionException || e.getCause() instanceof InputCoercionException) {
      return "a number out of range: amount and nonce are whole numbers from 0 to "
          + Long.MAX_VALUE;
    }
    if (e instanceof UnrecognizedPropertyException unknown) {
      return "unknown field '" + unknown.getPropertyName() + "'";
    }
    if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
      String field = mapping.getPath().get(mapping.getPath().size() - 1).getFieldName();
      if (e instanceof MismatchedInputException && field != null) {
        return "'"
            + field
            + "' is missing, null or not of its kind (from, to, signature: strings of hex "
            + "digits; amount, nonce: whole numbers)";
      }
    }
    if (e instanceof MismatchedInputException missing
        && missing.getOriginalMessage() != null
        && missing.getOriginalMessage().startsWith("Missing required creator property")) {
      return firstLine(missing.getOriginalMessage()).replaceAll(" \\(index \\d+\\)", "");
    }
    if (e instanceof JsonMappingException) {
      return "not a JSON object of those fields";
    }
    if (e instanceof JsonProcessingException json
        && json.getOriginalMessage() != null
        && json.getOriginalMessage().startsWith("Duplicate field ")) {
      // Jackson's "Duplicate field 'from'"
      return firstLine(json.getOriginalMessage()).substring("Duplicate ".length())
          + " appears more than once: give each field once";
    }
    if (e instanceof JsonProcessingException json) {
      String message = firstLine(json.getOriginalMessage());
      int marker = message.indexOf(" (start marker"); // followed by the parser's source settings
      return "not JSON"
          + (json.getLocation() == null
              ? ""
              : " at line "
                  + json.getLocation().getLineNr()
                  + ", column "
                  + json.getLocation().getColumnNr())
          + ": "
          + (marker < 0 ? message : message.substring(0, marker));
    }
    return firstLine(e.getMessage());
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
  }
}
