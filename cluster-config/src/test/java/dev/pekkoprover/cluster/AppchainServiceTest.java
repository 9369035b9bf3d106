package dev.pekkoprover.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.Appchain;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Transfer;
import dev.pekkoprover.appchain.tx.Wallet;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.testing.TestConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 15 in one JVM: the appchain service behind its HTTP API on a node with the real queue and
 * workers and the real journal plugin (pekko-persistence-jdbc on H2). Every accepted transaction
 * ends in a proven block whose root equals the direct computation; each refusal has its reason and
 * HTTP status; the status query follows a transaction; a service stopped and started again on the
 * same database keeps every transaction it accepted.
 */
@ExtendWith(LogCapturingExtension.class)
class AppchainServiceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(3))
          .build();
  private static final long SEED = 7;
  private static final int ACCOUNTS = 20;

  private record Answer(int status, JsonNode body, HttpResponse<String> response) {}

  /**
   * A running service: its node, its base URL, the thread that runs it, what it printed and, once
   * it has ended, its outcome's summary.
   */
  record Service(
      ProverNode node,
      String url,
      Thread runner,
      ByteArrayOutputStream out,
      java.util.concurrent.CompletableFuture<String> summary)
      implements AutoCloseable {
    @Override
    public void close() {
      node.close();
      try {
        runner.join(TimeUnit.SECONDS.toMillis(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      assertTrue(!runner.isAlive(), "the service did not end with its node");
    }
  }

  static String database(String name) {
    return "jdbc:h2:mem:" + name + "-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1";
  }

  private static Service start(String name, String jdbcUrl, String overrides) throws Exception {
    return start(name, jdbcUrl, overrides, 2);
  }

  /**
   * A service on a node with {@code workers} workers of every type, 2 tasks at once each, its HTTP
   * server on a free port; answers once the service does.
   */
  static Service start(String name, String jdbcUrl, String overrides, int workers)
      throws Exception {
    Config config = serviceConfig(overrides, TestNodes.durableConfig(jdbcUrl, ""));
    JournalSchema.createIfMissing(config);
    return start(name, config, workers);
  }

  /** The service's settings for these tests, {@code overrides} first, over {@code base}. */
  private static Config serviceConfig(String overrides, Config base) {
    return ConfigFactory.parseString(
            "prover.http.enabled = on\nprover.http.port = 0\n"
                + "prover.appchain-job { service = on, seed = "
                + SEED
                + ", accounts = "
                + ACCOUNTS
                + ", txs = 8, batch = 2 }\n"
                + "prover.appchain-service { block-interval = 200ms, batch-interval = 600ms, "
                + "report-interval = 1s }\n"
                + overrides)
        .withFallback(base)
        .resolve();
  }

  private static Service start(String name, Config config, int workers) throws Exception {
    AppchainSettings settings = AppchainSettings.fromConfig(config);
    ProverNode.Builder builder =
        ProverNode.builder(name)
            .config(config)
            .catalog(TaskCatalog.of(Appchain.taskTypes()))
            .localQueue()
            .sequencer(AppchainJob.startupPlan(settings));
    if (workers > 0) {
      builder.workers(WorkerGroup.allTypes(workers, 2));
    }
    ProverNode node = builder.start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
    java.util.concurrent.CompletableFuture<String> summary =
        new java.util.concurrent.CompletableFuture<>();
    Thread runner =
        new Thread(
            () -> {
              try {
                summary.complete(AppchainService.run(node, settings, config, print).summary());
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (RuntimeException e) {
                summary.completeExceptionally(e);
              }
            },
            name + "-service");
    runner.setDaemon(true);
    runner.start();
    String url = node.httpUrl().orElseThrow() + "/appchain";
    awaitAnswer(url + "/chain", answer -> answer.status() == 200, "the service to answer");
    return new Service(node, url, runner, out, summary);
  }

  private static Answer send(HttpRequest request) {
    try {
      HttpResponse<String> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
      JsonNode body = response.body().isEmpty() ? null : JSON.readTree(response.body());
      return new Answer(response.statusCode(), body, response);
    } catch (IOException e) {
      throw new AssertionError(request.method() + " " + request.uri() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** The body of {@code GET url}, as text (e.g. Prometheus's). */
  private static String text(String url) throws IOException, InterruptedException {
    return CLIENT
        .send(
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15)).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  private static Answer get(String url) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(15)).build());
  }

  private static Answer post(String url, String body) {
    return send(
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(15))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build());
  }

  private static Answer submit(Service service, SignedTransfer transaction) {
    try {
      return post(
          service.url() + "/transactions",
          JSON.writeValueAsString(ChainApi.TransactionBody.of(transaction)));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Polls {@code url} every 50 ms, up to 60 s, until its answer passes {@code done} (a request that
   * fails counts as not yet); the timeout names {@code what} and the last answer.
   */
  private static Answer awaitAnswer(String url, Predicate<Answer> done, String what) {
    return await(what + " (GET " + url + ")")
        .atMost(Duration.ofSeconds(60))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(50))
        .ignoreExceptionsInstanceOf(AssertionError.class) // not listening yet
        .until(() -> get(url), done);
  }

  /** Waits until every accepted transaction is in a proven block and nothing is pending. */
  private static JsonNode awaitAllProven(Service service, int accepted) {
    return awaitAnswer(
            service.url() + "/chain",
            answer ->
                answer.body().get("accepted").asLong() == accepted
                    && answer.body().get("pending").asInt() == 0
                    && answer.body().get("height").asLong() > 0
                    && answer.body().get("provenHeight").asLong()
                        == answer.body().get("height").asLong(),
            "every accepted transaction to be proven")
        .body();
  }

  /** The funded wallets of the service's genesis, and the genesis itself. */
  private static Workload genesis() {
    return Workload.generate(SEED, ACCOUNTS, 0, 1, 0);
  }

  private static List<Wallet> funded(Workload workload) {
    return workload.wallets().stream()
        .filter(wallet -> workload.genesis().containsKey(wallet.address()))
        .toList();
  }

  /** {@code count} valid transfers among the funded wallets, each sender's nonces in order. */
  private static List<SignedTransfer> transfers(
      List<Wallet> wallets, Map<String, Long> nonces, int count, int salt) {
    List<SignedTransfer> transfers = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Wallet from = wallets.get((i + salt) % wallets.size());
      Wallet to = wallets.get((i * 7 + salt + 1) % wallets.size());
      long nonce = nonces.merge(from.address(), 1L, Long::sum) - 1;
      transfers.add(from.transfer(to.address(), 10 + i, nonce));
    }
    return transfers;
  }

  /** The state root of the genesis after {@code transactions}, computed directly. */
  private static String directRoot(List<SignedTransfer> transactions) {
    Chain chain =
        Chain.create(genesis().genesis(), AppchainSettings.fromConfig(ConfigFactory.load()));
    for (SignedTransfer transaction : transactions) {
      assertTrue(chain.submit(transaction).accepted(), "direct chain refused " + transaction);
    }
    while (chain.produceBlock().isPresent()) {
      // every pending transaction into a block
    }
    return chain.stateRoot();
  }

  @Test
  void acceptedTransactionsEndInProvenBlocksAndEachRefusalSaysWhy() throws Exception {
    try (Service service = start("svc-proven", database("svc-proven"), "")) {
      Workload workload = genesis();
      List<Wallet> wallets = funded(workload);
      Map<String, Long> nonces = new HashMap<>();
      List<SignedTransfer> valid = transfers(wallets, nonces, 40, 0);
      List<String> hashes = new ArrayList<>();
      for (SignedTransfer transaction : valid) {
        Answer answer = submit(service, transaction);
        assertEquals(202, answer.status(), answer.body().toString());
        assertEquals(transaction.hash(), answer.body().get("hash").asText());
        hashes.add(transaction.hash());
      }
      Wallet sender = wallets.get(0);
      Wallet other = wallets.get(1);
      long next = nonces.get(sender.address());
      Answer account = get(service.url() + "/accounts/" + sender.address());
      assertEquals(next, account.body().get("pendingNonce").asLong());

      // each refusal: the mempool's reason, 422, and nothing accepted
      SignedTransfer good = sender.transfer(other.address(), 1, next);
      String forged =
          good.signature().substring(0, 10)
              + (good.signature().charAt(10) == '0' ? '1' : '0')
              + good.signature().substring(11);
      assertRefused(service, new SignedTransfer(good.transfer(), forged), 422, "BAD_SIGNATURE");
      assertRefused(service, sender.transfer(other.address(), 1, next + 5), 422, "BAD_NONCE");
      assertRefused(service, sender.transfer(other.address(), 1, next - 1), 422, "BAD_NONCE");
      assertRefused(
          service,
          sender.transfer(other.address(), Workload.GENESIS_BALANCE * 2, next),
          422,
          "OVERDRAFT");
      assertRefused(service, sender.transfer(other.address(), 0, next), 422, "INVALID_AMOUNT");
      Answer notAnAddress =
          assertRefused(
              service,
              new SignedTransfer(
                  new Transfer(sender.address(), "not-an-address", 1, next), good.signature()),
              422,
              "MALFORMED");
      assertEquals(
          "'to' is not an address (the recipient's raw Ed25519 public key): it is 14 character(s)"
              + " long, an address is 64 hex digits",
          notAnAddress.body().get("message").asText());
      // a signature that is not 128 hex digits is a malformed body, 400 naming the field; one of
      // that form that does not verify is the mempool's 422 BAD_SIGNATURE (above)
      for (Map.Entry<String, String> bad :
          Map.of(
                  good.signature().substring(0, 20),
                  "it is 20 character(s) long, a signature is 128 hex digits",
                  "zz" + good.signature().substring(2),
                  "character 1 is not a hex digit (0-9, a-f), a signature is 128 hex digits")
              .entrySet()) {
        Answer answer =
            assertRefused(
                service, new SignedTransfer(good.transfer(), bad.getKey()), 400, "MALFORMED");
        assertEquals(
            "'signature' is not a signature (the sender's Ed25519 signature over the transfer's"
                + " signing bytes): "
                + bad.getValue(),
            answer.body().get("message").asText());
      }
      Answer notJson = post(service.url() + "/transactions", "{\"from\": 1");
      assertEquals(400, notJson.status());
      assertEquals("MALFORMED", notJson.body().get("refused").asText());
      Answer missing = post(service.url() + "/transactions", "{\"from\": \"ab\", \"to\": \"cd\"}");
      assertEquals(400, missing.status());
      // a field given twice is ambiguous (a signer or proxy may read the other value): refused
      String json = JSON.valueToTree(ChainApi.TransactionBody.of(good)).toString();
      // first (Jackson kept the last value, and the chain refused it as BAD_SIGNATURE: a trial's)
      // and last (Jackson made the object before it)
      for (String body :
          List.of(
              "{\"from\": \"" + "ab".repeat(32) + "\", " + json.substring(1),
              json.substring(0, json.length() - 1) + ", \"from\": \"" + "ab".repeat(32) + "\"}")) {
        Answer twice = post(service.url() + "/transactions", body);
        assertEquals(400, twice.status(), twice.body().toString());
        assertEquals("MALFORMED", twice.body().get("refused").asText());
        assertTrue(
            twice
                .body()
                .get("message")
                .asText()
                .endsWith(": field 'from' appears more than once: give each field once"),
            twice.body().toString());
      }
      // amounts and nonces are whole JSON numbers: nothing rounded, nothing parsed from a string;
      // each answer names the field, in the API's terms, without Java's
      com.fasterxml.jackson.databind.node.ObjectNode body =
          JSON.valueToTree(ChainApi.TransactionBody.of(good));
      for (Map.Entry<String, Object> bad :
          Map.<String, Object>of("amount", 5.5, "nonce", String.valueOf(next)).entrySet()) {
        com.fasterxml.jackson.databind.node.ObjectNode wrong = body.deepCopy();
        wrong.putPOJO(bad.getKey(), bad.getValue());
        Answer answer = post(service.url() + "/transactions", wrong.toString());
        assertEquals(400, answer.status(), answer.body().toString());
        String message = answer.body().get("message").asText();
        assertTrue(
            message.endsWith(
                "'"
                    + bad.getKey()
                    + "' is missing, null or not of its kind (from, to, signature: strings of hex"
                    + " digits; amount, nonce: whole numbers)"),
            message);
      }
      com.fasterxml.jackson.databind.node.ObjectNode outOfRange = body.deepCopy();
      outOfRange.putRawValue(
          "amount", new com.fasterxml.jackson.databind.util.RawValue("99999999999999999999"));
      Answer tooLarge = post(service.url() + "/transactions", outOfRange.toString());
      assertEquals(400, tooLarge.status());
      assertTrue(
          tooLarge
              .body()
              .get("message")
              .asText()
              .endsWith(
                  ": a number out of range: amount and "
                      + "nonce are whole numbers from 0 to 9223372036854775807"),
          tooLarge.body().toString());
      Answer array = post(service.url() + "/transactions", "[1, 2]");
      assertTrue(
          array.body().get("message").asText().endsWith(": not a JSON object of those fields"),
          array.body().toString());
      for (Answer answer : List.of(notJson, missing, array)) {
        String message = answer.body().get("message").asText();
        assertTrue(!message.contains("dev.pekkoprover") && !message.contains("Feature"), message);
      }
      assertTrue(
          missing.body().get("message").asText().contains("'amount'"), missing.body().toString());
      Answer huge =
          post(service.url() + "/transactions", "{\"pad\": \"" + "a".repeat(20_000) + "\"}");
      assertEquals(413, huge.status());
      assertEquals(400, get(service.url() + "/accounts/xyz").status());
      Answer unknown = get(service.url() + "/transactions/" + "ab".repeat(32));
      assertEquals(404, unknown.status());
      assertEquals("unknown", unknown.body().get("status").asText());
      Answer notAHash = get(service.url() + "/transactions/xyz");
      assertEquals(400, notAHash.status());
      assertEquals("MALFORMED", notAHash.body().get("refused").asText());
      Answer upperCase =
          get(service.url() + "/transactions/" + hashes.get(0).toUpperCase(Locale.ROOT));
      assertEquals(200, upperCase.status(), upperCase.body().toString());

      JsonNode chain = awaitAllProven(service, valid.size());
      for (String hash : hashes) {
        Answer status = get(service.url() + "/transactions/" + hash);
        assertEquals(200, status.status());
        assertEquals("proven", status.body().get("status").asText(), status.body().toString());
        assertTrue(status.body().get("block").asLong() < chain.get("provenHeight").asLong());
      }
      String direct = directRoot(valid);
      assertEquals(direct, chain.get("stateRoot").asText());
      JsonNode lastBatch = chain.get("lastBatch");
      assertNotNull(lastBatch);
      assertEquals(direct, lastBatch.get("stateRoot").asText());
      assertEquals(chain.get("lastBlockHash").asText(), lastBatch.get("lastBlockHash").asText());
      assertEquals(chain.get("height").asLong() - 1, lastBatch.get("lastBlock").asLong());
      Answer after = get(service.url() + "/accounts/" + sender.address());
      assertEquals(next, after.body().get("nonce").asLong());
    }
  }

  private static Answer assertRefused(
      Service service, SignedTransfer transaction, int status, String reason) {
    Answer answer = submit(service, transaction);
    assertEquals(status, answer.status(), answer.body().toString());
    assertEquals(reason, answer.body().get("refused").asText(), answer.body().toString());
    assertTrue(answer.body().get("message").asText().length() > 10, answer.body().toString());
    if (answer.body().has("hash")) {
      assertEquals(
          404,
          get(service.url() + "/transactions/" + answer.body().get("hash").asText()).status(),
          "a refused transaction has no status");
    }
    return answer;
  }

  /**
   * A client that sends a transaction again after a lost answer (the same signed transfer, the same
   * hash) is answered 200 "already accepted" with its status, and the chain holds it once; another
   * transfer with the nonce it used is still refused BAD_NONCE.
   */
  /**
   * The {@code transfer} command signs with the seeded genesis's wallets, which curl cannot: its
   * body is accepted as it is; {@code --list} names every wallet with its genesis balance; a wallet
   * that is not one is refused with exit code 2.
   */
  @Test
  void theTransferCommandsBodyIsAcceptedAsItIs() throws Exception {
    try (Service service = start("transfer-command", database("transfer-command"), "")) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
      TransferCommand transfer = new TransferCommand();
      transfer.genesisOptions.seed = SEED;
      transfer.genesisOptions.accounts = ACCOUNTS;
      transfer.list = true;
      assertEquals(
          0, transfer.run(new java.io.PrintStream(out, true), new java.io.PrintStream(err)));
      List<String> wallets = out.toString().lines().toList();
      assertEquals(ACCOUNTS, wallets.size(), out.toString());
      String[] first = wallets.get(0).split(" ");
      assertEquals("0", first[0]);
      assertTrue(Long.parseLong(first[2]) > 5, "funded at genesis: " + wallets.get(0));

      out.reset();
      transfer.list = false;
      transfer.from = 0;
      transfer.to = "1";
      transfer.amount = 5L;
      transfer.nonce = 0L;
      assertEquals(
          0, transfer.run(new java.io.PrintStream(out, true), new java.io.PrintStream(err)));
      Answer accepted = post(service.url() + "/transactions", out.toString().trim());
      assertEquals(202, accepted.status(), String.valueOf(accepted.body()));
      assertEquals(
          1,
          get(service.url() + "/accounts/" + first[1]).body().path("pendingNonce").asLong(),
          "the sender's next transfer takes nonce 1");

      transfer.from = ACCOUNTS;
      assertEquals(
          NodeLauncher.USAGE_EXIT,
          transfer.run(new java.io.PrintStream(out, true), new java.io.PrintStream(err, true)));
      assertTrue(
          err.toString().contains("--from " + ACCOUNTS + " is not a wallet"), err.toString());
    }
  }

  @Test
  void theSameTransactionSentAgainIsAnsweredAcceptedAndKeptOnce() throws Exception {
    try (Service service = start("svc-again", database("svc-again"), "")) {
      List<Wallet> wallets = funded(genesis());
      SignedTransfer transaction = wallets.get(0).transfer(wallets.get(1).address(), 5, 0);
      Answer first = submit(service, transaction);
      assertEquals(202, first.status(), first.body().toString());
      Answer again = submit(service, transaction);
      assertEquals(200, again.status(), again.body().toString());
      assertEquals(transaction.hash(), again.body().get("hash").asText());
      assertTrue(again.body().get("alreadyAccepted").asBoolean(), again.body().toString());
      assertTrue(
          List.of("pending", "in-block", "proven").contains(again.body().get("status").asText()),
          again.body().toString());
      assertTrue(
          again.body().get("message").asText().contains("not queued again"),
          again.body().toString());
      assertRefused(
          service, wallets.get(0).transfer(wallets.get(2).address(), 6, 0), 422, "BAD_NONCE");
      JsonNode chain = awaitAllProven(service, 1);
      assertEquals(1, chain.get("accepted").asLong(), chain.toString());
      Answer proven = submit(service, transaction);
      assertEquals(200, proven.status(), proven.body().toString());
      assertEquals("proven", proven.body().get("status").asText(), proven.body().toString());
      assertEquals(1, get(service.url() + "/chain").body().get("accepted").asLong());
      assertEquals(
          1,
          get(service.url() + "/accounts/" + wallets.get(0).address())
              .body()
              .get("nonce")
              .asLong());
    }
  }

  /**
   * Once the node's CoordinatedShutdown has begun (its endpoints stay bound through the drain), a
   * transaction is refused 503 SHUTTING_DOWN with Retry-After and not accepted, while the read-only
   * routes keep answering; with the journal in memory the stop line says how many accepted
   * transactions not proven are lost and which option keeps them. The shutdown is held in its drain
   * phase by a task of the test's until it has asked.
   */
  @Test
  void aNodeShuttingDownAcceptsNoTransactionAndAnInMemoryStopSaysWhatIsLost() throws Exception {
    Config config =
        serviceConfig(
            "prover.appchain-service.block-interval = 1h\n"
                + "pekko.coordinated-shutdown.phases.service-requests-done.timeout = 60s\n",
            TestConfig.config(TestNodes.FAST));
    try (Service service = start("svc-stopping", config, 0)) {
      List<Wallet> wallets = funded(genesis());
      List<SignedTransfer> transfers = transfers(wallets, new HashMap<>(), 3, 0);
      for (SignedTransfer transaction : transfers.subList(0, 2)) {
        assertEquals(202, submit(service, transaction).status());
      }
      java.util.concurrent.CompletableFuture<org.apache.pekko.Done> held =
          new java.util.concurrent.CompletableFuture<>();
      org.apache.pekko.actor.CoordinatedShutdown shutdown =
          org.apache.pekko.actor.CoordinatedShutdown.get(service.node().system());
      shutdown.addTask(
          org.apache.pekko.actor.CoordinatedShutdown.PhaseServiceRequestsDone(),
          "test-holds-the-drain",
          () -> held);
      shutdown.run(org.apache.pekko.actor.CoordinatedShutdown.unknownReason());
      try {
        Answer refused = submit(service, transfers.get(2));
        assertEquals(503, refused.status(), refused.body().toString());
        assertEquals("SHUTTING_DOWN", refused.body().get("refused").asText());
        assertEquals(
            "the node is shutting down and accepts no new transaction (this one was not"
                + " accepted): send it again to another node of the appchain service, or to this"
                + " one once it has restarted",
            refused.body().get("message").asText());
        assertEquals("5", refused.response().headers().firstValue("Retry-After").orElse(null));
        Answer chain = get(service.url() + "/chain");
        assertEquals(200, chain.status());
        assertEquals(2, chain.body().get("accepted").asLong(), chain.body().toString());
        assertEquals(404, get(service.url() + "/transactions/" + transfers.get(2).hash()).status());
        assertEquals(200, get(service.url() + "/transactions/" + transfers.get(0).hash()).status());
      } finally {
        held.complete(org.apache.pekko.Done.getInstance());
      }
      String summary = service.summary().get(60, TimeUnit.SECONDS);
      String stopLine =
          service
              .out()
              .toString(StandardCharsets.UTF_8)
              .lines()
              .filter(line -> line.startsWith("appchain service stopped"))
              .reduce((a, b) -> a + "\n" + b)
              .orElseThrow(() -> new AssertionError("no stop line:\n" + service.out()));
      assertEquals(
          "appchain service stopped: its journal was in memory, so none of its chain is kept:"
              + " all 2 transaction(s) it accepted are gone (height 0, proven height 0; 2 not"
              + " proven yet), and the same command starts again from genesis;"
              + " to keep every transaction it accepted, give it a durable journal: run without"
              + " --in-memory (the journal in --data-dir)",
          stopLine);
      assertEquals("", summary, "one stop line, not two");
    }
  }

  /**
   * Proving waits for workers, the chain does not: with none there (all restarting, a fleet not
   * started yet) the service takes transactions and produces blocks, and says what proving waits
   * for.
   */
  @Test
  void transactionsAreTakenAndBlocksProducedBeforeAnyWorkerIsThere() throws Exception {
    try (Service service = start("svc-no-workers", database("svc-no-workers"), "", 0)) {
      List<SignedTransfer> transfers = transfers(funded(genesis()), new HashMap<>(), 12, 0);
      for (SignedTransfer transaction : transfers) {
        Answer answer = submit(service, transaction);
        assertEquals(202, answer.status(), answer.body().toString());
      }
      JsonNode chain =
          awaitAnswer(
                  service.url() + "/chain",
                  answer ->
                      answer.body().get("pending").asInt() == 0
                          && answer.body().get("height").asLong() >= 2,
                  "every transaction in a block, without workers")
              .body();
      assertEquals(12, chain.get("accepted").asLong());
      assertEquals(0, chain.get("provenHeight").asLong());
      String metrics = service.node().httpUrl().orElseThrow() + "/metrics";
      await("the service's gauges show the batches waiting for workers")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> text(metrics),
              text ->
                  text.lines().anyMatch(line -> line.matches("prover_appchain_height [1-9].*"))
                      && text.lines()
                          .anyMatch(line -> line.matches("prover_appchain_batches_proving [1-9].*"))
                      && text.contains("prover_appchain_proven_height 0.0")
                      && text.contains("prover_appchain_pending_transactions 0.0"));
      await("the service says what proving waits for")
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> service.out().toString(StandardCharsets.UTF_8).contains("waiting for workers"));
    }
  }

  @Test
  void aFullMempoolIsRefusedWith503AndRetryAfter() throws Exception {
    try (Service service =
        start(
            "svc-full",
            database("svc-full"),
            "prover.appchain.mempool-capacity = 3\n"
                + "prover.appchain-service.block-interval = 1h")) {
      List<Wallet> wallets = funded(genesis());
      List<SignedTransfer> transfers = transfers(wallets, new HashMap<>(), 4, 0);
      for (int i = 0; i < 3; i++) {
        assertEquals(202, submit(service, transfers.get(i)).status());
      }
      Answer full = submit(service, transfers.get(3));
      assertEquals(503, full.status());
      assertEquals("MEMPOOL_FULL", full.body().get("refused").asText());
      assertEquals("1", full.response().headers().firstValue("Retry-After").orElse(null));
      Answer status = get(service.url() + "/transactions/" + transfers.get(0).hash());
      assertEquals("pending", status.body().get("status").asText());
    }
  }

  @Test
  void aServiceStoppedAndStartedAgainKeepsEveryTransactionItAccepted() throws Exception {
    String recovered = restartKeepsEveryTransaction("svc-restart", "");
    assertTrue(recovered.contains("(from genesis, "), recovered);
  }

  /**
   * With a snapshot every 5 events the restart reads a snapshot taken after a batch was proven and
   * the events after it; the events before the older kept snapshot are gone from the journal, and
   * the restarted service has the same chain, index and proofs as one that replays from genesis.
   */
  @Test
  void aServiceRestartedFromASnapshotKeepsEveryTransactionItAccepted() throws Exception {
    String recovered =
        restartKeepsEveryTransaction("svc-snap", "prover.appchain-service.snapshot-every = 5\n");
    java.util.regex.Matcher base =
        java.util.regex.Pattern.compile(
                "from a snapshot at proven height (\\d+) and (\\d+) journal")
            .matcher(recovered);
    assertTrue(base.find(), recovered);
    assertTrue(
        Long.parseLong(base.group(1)) >= 2, "a snapshot after the first proof: " + recovered);
    // the events since the snapshot read: under 5 and the rest of the write that crossed it, or
    // (a stop during the latest one's save) 5 more; the journal held about 45
    assertTrue(Long.parseLong(base.group(2)) < 20, "only the events since it: " + recovered);
  }

  /**
   * Starts a service, has it accept 30 transactions (the last 10 after a batch is proven), stops
   * it, starts it again on the same database, has it accept 20 more and checks that all 50 end
   * proven with the direct root; returns the restarted service's recovery line.
   */
  private static String restartKeepsEveryTransaction(String name, String overrides)
      throws Exception {
    String url = database(name);
    List<Wallet> wallets = funded(genesis());
    Map<String, Long> nonces = new HashMap<>();
    List<SignedTransfer> first = transfers(wallets, nonces, 30, 0);
    List<SignedTransfer> second = transfers(wallets, nonces, 20, 3);
    long heightAtStop;
    try (Service service = start(name + "-1", url, overrides)) {
      for (SignedTransfer transaction : first.subList(0, 20)) {
        assertEquals(202, submit(service, transaction).status());
      }
      awaitAnswer(
          service.url() + "/chain",
          answer -> answer.body().get("provenHeight").asLong() >= 2,
          "a batch proven");
      for (SignedTransfer transaction : first.subList(20, 30)) {
        assertEquals(202, submit(service, transaction).status());
      }
      heightAtStop = get(service.url() + "/chain").body().get("height").asLong();
    } // stopped with transactions pending and blocks unproven, most likely
    long[] journal = journalRows(url);
    if (!overrides.isEmpty()) {
      assertTrue(
          journal[0] < journal[1],
          "events before the snapshots deleted: "
              + journal[0]
              + " rows, highest sequence number "
              + journal[1]);
      // Pekko deletes older snapshots after a newer one is saved, asynchronously: their number at
      // a stop depends on timing
      assertTrue(journal[2] >= 1, "no snapshot saved");
    } else {
      assertEquals(journal[1], journal[0], "no snapshots, no deletions");
      assertEquals(0, journal[2]);
    }
    try (Service service = start(name + "-2", url, overrides)) {
      JsonNode recovered = get(service.url() + "/chain").body();
      assertEquals(30, recovered.get("accepted").asLong(), recovered.toString());
      assertTrue(recovered.get("height").asLong() >= heightAtStop, recovered.toString());
      String line =
          service
              .out()
              .toString(StandardCharsets.UTF_8)
              .lines()
              .filter(l -> l.startsWith("appchain service: height"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no recovery line"));
      for (SignedTransfer transaction : second) {
        Answer answer = submit(service, transaction);
        assertEquals(202, answer.status(), answer.body().toString());
      }
      JsonNode chain = awaitAllProven(service, 50);
      List<SignedTransfer> all = new ArrayList<>(first);
      all.addAll(second);
      assertEquals(directRoot(all), chain.get("lastBatch").get("stateRoot").asText());
      for (SignedTransfer transaction : all) {
        assertEquals(
            "proven",
            get(service.url() + "/transactions/" + transaction.hash())
                .body()
                .get("status")
                .asText());
      }
      return line;
    }
  }

  /** The service's journal rows, its highest sequence number and its snapshots, in that order. */
  private static long[] journalRows(String url) throws java.sql.SQLException {
    String id = "prover-appchain-seed" + SEED + "-accounts" + ACCOUNTS;
    try (java.sql.Connection connection = java.sql.DriverManager.getConnection(url, "sa", "");
        java.sql.PreparedStatement events =
            connection.prepareStatement(
                "SELECT COUNT(*), MAX(\"sequence_number\") FROM \"event_journal\""
                    + " WHERE \"persistence_id\" = ?");
        java.sql.PreparedStatement snapshots =
            connection.prepareStatement(
                "SELECT COUNT(*) FROM \"snapshot\" WHERE \"persistence_id\" = ?")) {
      events.setString(1, id);
      snapshots.setString(1, id);
      long[] rows = new long[3];
      try (java.sql.ResultSet result = events.executeQuery()) {
        result.next();
        rows[0] = result.getLong(1);
        rows[1] = result.getLong(2);
      }
      try (java.sql.ResultSet result = snapshots.executeQuery()) {
        result.next();
        rows[2] = result.getLong(1);
      }
      assertTrue(rows[1] > 0, "the service journaled nothing under " + id);
      return rows;
    }
  }
}
