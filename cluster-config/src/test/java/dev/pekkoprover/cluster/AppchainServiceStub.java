package dev.pekkoprover.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.appchain.tx.Admission;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Transfer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The appchain service's HTTP contract (/tmp/service-api.md: {@code POST /appchain/transactions},
 * {@code GET /appchain/transactions/{hash}}, {@code /appchain/chain}, {@code
 * /appchain/accounts/{a}}) served by the JDK's HTTP server over a real {@link Chain}, whose mempool
 * gives the refusals. The test moves transactions into blocks ({@link #produceBlocks}) and proves
 * them ({@link #proveAll}), by hand or on a timer, and can make it fail as a real service would:
 * stop and start again on the same port (its chain, the "journal", survives), answer 503
 * UNAVAILABLE, or accept a transaction and drop the connection before answering.
 */
final class AppchainServiceStub implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Chain chain;
  private final String token;
  private final int port;
  private final javax.net.ssl.SSLContext tls;

  /** hash -> block number, -1 while pending: every accepted transaction. */
  private final Map<String, Long> accepted = new LinkedHashMap<>();

  private final Map<String, Integer> pendingBySender = new HashMap<>();
  private long provenHeight;
  private HttpServer server;
  private ExecutorService executor;
  private ScheduledExecutorService blocks;
  private volatile boolean unavailable;
  private final AtomicInteger dropAnswers = new AtomicInteger();
  private final AtomicInteger dropped = new AtomicInteger();
  private final AtomicInteger unavailableAnswers = new AtomicInteger();
  private final AtomicInteger failAccountReads = new AtomicInteger();
  private final AtomicInteger accountReads = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger submitsWaiting = new AtomicInteger();
  private final AtomicInteger mostSubmitsWaiting = new AtomicInteger();
  private final AtomicReference<CountDownLatch> submitGate = new AtomicReference<>();

  private AppchainServiceStub(Chain chain, String token, int port, javax.net.ssl.SSLContext tls) {
    this.chain = chain;
    this.token = token;
    this.port = port;
    this.tls = tls;
  }

  /**
   * A service over a chain from {@code genesis} with {@code settings}, on a free port.
   *
   * @param token the bearer token every request must carry, or null for none
   */
  static AppchainServiceStub start(
      Map<String, Long> genesis, AppchainSettings settings, String token) throws IOException {
    return start(genesis, settings, token, null);
  }

  /** {@link #start(Map, AppchainSettings, String)} over HTTPS with {@code tls}, unless null. */
  static AppchainServiceStub start(
      Map<String, Long> genesis,
      AppchainSettings settings,
      String token,
      javax.net.ssl.SSLContext tls)
      throws IOException {
    AppchainServiceStub stub =
        new AppchainServiceStub(
            Chain.create(genesis, settings), token, NodeProcesses.freePort(), tls);
    stub.startServer();
    return stub;
  }

  /** {@code host:port}, as {@code --node} takes it. */
  String address() {
    return "127.0.0.1:" + port;
  }

  /** Serves again on the same port after {@link #stopServer}, with the same chain. */
  synchronized void startServer() throws IOException {
    InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    if (tls == null) {
      server = HttpServer.create(address, 256);
    } else {
      com.sun.net.httpserver.HttpsServer https =
          com.sun.net.httpserver.HttpsServer.create(address, 256);
      https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls));
      server = https;
    }
    // a thread per request being handled, as many as the client sends: held submissions must not
    // keep the others from being read
    executor = Executors.newCachedThreadPool();
    server.setExecutor(executor);
    server.createContext("/appchain/", this::handle);
    server.start();
  }

  /** Stops serving: connections are refused until {@link #startServer}. */
  void stopServer() {
    HttpServer stopping;
    ExecutorService threads;
    synchronized (this) {
      stopping = server;
      threads = executor;
      server = null;
    }
    if (stopping != null) {
      stopping.stop(0);
      threads.shutdownNow();
    }
  }

  /** Answers every request with 503 UNAVAILABLE while true. */
  void unavailable(boolean on) {
    unavailable = on;
  }

  /** The next {@code count} account reads are answered 503 UNAVAILABLE. */
  void failAccountReads(int count) {
    failAccountReads.set(count);
  }

  /**
   * While held, a submission waits for {@link #releaseSubmissions} before it is handled: the
   * service stalls.
   */
  void holdSubmissions() {
    submitGate.set(new CountDownLatch(1));
  }

  /** Handles the submissions held, and the ones after at once. */
  void releaseSubmissions() {
    CountDownLatch gate = submitGate.getAndSet(null);
    if (gate != null) {
      gate.countDown();
    }
  }

  /** Submissions waiting at the gate now. */
  int submitsWaiting() {
    return submitsWaiting.get();
  }

  /** The most submissions that waited at the gate at once. */
  int mostSubmitsWaiting() {
    return mostSubmitsWaiting.get();
  }

  /** Requests answered so far, whatever the answer. */
  int requests() {
    return requests.get();
  }

  /** Requests answered 503 UNAVAILABLE because of {@link #unavailable}. */
  int unavailableAnswers() {
    return unavailableAnswers.get();
  }

  /** Account reads answered so far, 503s included. */
  int accountReads() {
    return accountReads.get();
  }

  /** The next {@code count} accepted transactions get no answer: the connection is dropped. */
  void dropAnswers(int count) {
    dropAnswers.set(count);
  }

  /** Transactions accepted whose answer was dropped. */
  int dropped() {
    return dropped.get();
  }

  /** Produces a block every {@code every}; proves each block {@code proveAfter} blocks later. */
  void produceEvery(Duration every, boolean prove) {
    blocks = Executors.newSingleThreadScheduledExecutor();
    blocks.scheduleWithFixedDelay(
        () -> {
          synchronized (this) {
            long before = chain.height();
            produceBlocks();
            if (prove) {
              provenHeight = before;
            }
          }
        },
        every.toMillis(),
        every.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /** Moves every pending transaction into blocks. */
  synchronized void produceBlocks() {
    for (Optional<BlockTrace> block = chain.produceBlock();
        block.isPresent();
        block = chain.produceBlock()) {
      for (TransactionTrace tx : block.get().transactions()) {
        SignedTransfer signed = tx.runtime().transaction();
        accepted.put(signed.hash(), block.get().number());
        pendingBySender.merge(signed.transfer().from(), -1, Integer::sum);
      }
    }
  }

  /** Every produced block is proven. */
  synchronized void proveAll() {
    provenHeight = chain.height();
  }

  synchronized int acceptedCount() {
    return accepted.size();
  }

  synchronized java.util.Set<String> acceptedHashes() {
    return new java.util.HashSet<>(accepted.keySet());
  }

  synchronized String stateRoot() {
    return chain.stateRoot();
  }

  @Override
  public void close() {
    if (blocks != null) {
      blocks.shutdownNow();
    }
    stopServer();
  }

  private void handle(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    try (exchange) {
      if (token != null
          && !("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
        respond(exchange, 401, object().put("message", "a bearer token is required"));
        return;
      }
      if (unavailable) {
        unavailableAnswers.incrementAndGet();
        respond(
            exchange,
            503,
            object().put("refused", "UNAVAILABLE").put("message", "the service is starting"));
        return;
      }
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      if (method.equals("POST") && path.equals("/appchain/transactions")) {
        submit(exchange);
      } else if (method.equals("GET") && path.startsWith("/appchain/transactions/")) {
        status(exchange, path.substring("/appchain/transactions/".length()));
      } else if (method.equals("GET") && path.equals("/appchain/chain")) {
        chainView(exchange);
      } else if (method.equals("GET") && path.startsWith("/appchain/accounts/")) {
        account(exchange, path.substring("/appchain/accounts/".length()));
      } else {
        respond(exchange, 404, object().put("message", "no route " + method + " " + path));
      }
    }
  }

  private void submit(HttpExchange exchange) throws IOException {
    CountDownLatch gate = submitGate.get();
    if (gate != null) {
      mostSubmitsWaiting.accumulateAndGet(submitsWaiting.incrementAndGet(), Math::max);
      try {
        gate.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        submitsWaiting.decrementAndGet();
      }
    }
    SignedTransfer tx;
    try {
      JsonNode body = JSON.readTree(exchange.getRequestBody());
      tx =
          new SignedTransfer(
              new Transfer(
                  body.get("from").asText(),
                  body.get("to").asText(),
                  body.get("amount").asLong(),
                  body.get("nonce").asLong()),
              body.get("signature").asText());
    } catch (IOException | RuntimeException e) {
      respond(exchange, 400, object().put("refused", "MALFORMED").put("message", e.toString()));
      return;
    }
    Admission admission;
    synchronized (this) {
      admission = chain.submit(tx);
      if (admission.accepted()) {
        accepted.put(tx.hash(), -1L);
        pendingBySender.merge(tx.transfer().from(), 1, Integer::sum);
      }
    }
    if (admission instanceof Admission.Refused refused) {
      ObjectNode body =
          object()
              .put("hash", refused.txHash())
              .put("refused", refused.reason().name())
              .put("message", refused.message());
      if (refused.reason() == dev.pekkoprover.appchain.tx.RefusalReason.MEMPOOL_FULL) {
        exchange.getResponseHeaders().add("Retry-After", "1");
        respond(exchange, 503, body);
      } else {
        respond(exchange, 422, body);
      }
      return;
    }
    if (dropAnswers.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      dropped.incrementAndGet();
      // accepted and journaled, but the answer is lost: the connection closes with no response
      return;
    }
    respond(exchange, 202, object().put("hash", tx.hash()).put("status", "pending"));
  }

  private void status(HttpExchange exchange, String hash) throws IOException {
    Long block;
    long proven;
    synchronized (this) {
      block = accepted.get(hash);
      proven = provenHeight;
    }
    if (block == null) {
      respond(
          exchange,
          404,
          object().put("hash", hash).put("status", "unknown").put("message", "never accepted"));
    } else if (block < 0) {
      respond(exchange, 200, object().put("hash", hash).put("status", "pending"));
    } else {
      respond(
          exchange,
          200,
          object()
              .put("hash", hash)
              .put("status", block < proven ? "proven" : "in-block")
              .put("block", block));
    }
  }

  private void chainView(HttpExchange exchange) throws IOException {
    ObjectNode body;
    synchronized (this) {
      body =
          object()
              .put("height", chain.height())
              .put("provenHeight", provenHeight)
              .put("pending", chain.pendingTransactions())
              .put("accepted", accepted.size())
              .put("stateRoot", chain.stateRoot())
              .put("lastBlockHash", chain.lastBlockHash())
              .put("genesisStateRoot", chain.genesisStateRoot())
              .putNull("lastBatch");
    }
    respond(exchange, 200, body);
  }

  private void account(HttpExchange exchange, String address) throws IOException {
    accountReads.incrementAndGet();
    if (failAccountReads.getAndUpdate(left -> Math.max(0, left - 1)) > 0) {
      respond(
          exchange,
          503,
          object().put("refused", "UNAVAILABLE").put("message", "the service is busy"));
      return;
    }
    ObjectNode body;
    synchronized (this) {
      AccountState state = chain.account(address);
      body =
          object()
              .put("address", address)
              .put("balance", state.balance())
              .put("nonce", state.nonce())
              .put("pendingNonce", state.nonce() + pendingBySender.getOrDefault(address, 0));
    }
    respond(exchange, 200, body);
  }

  private static ObjectNode object() {
    return JSON.createObjectNode();
  }

  private static void respond(HttpExchange exchange, int status, ObjectNode body)
      throws IOException {
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
