package dev.pekkoprover.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code prover-node load} against the service's contract served over a real {@link Chain} ({@link
 * AppchainServiceStub}): the rate holds, invalid transfers are refused with their reasons, the
 * record holds exactly the accepted transfers (a fresh chain fed with them reaches the service's
 * state root), a service that drops answers, restarts and says UNAVAILABLE loses none of them,
 * proofs are waited for, and bad input is one line with exit code 2.
 */
class LoadCommandTest {
  private static final long SEED = 42;
  private static final int ACCOUNTS = 50;
  private static final Workload WALLETS = Workload.generate(SEED, ACCOUNTS, 0, 1, 0);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  static AppchainSettings settings(int mempoolCapacity) {
    return new AppchainSettings(0, 8, 32, "load-test", mempoolCapacity);
  }

  record Result(int code, String out, String err) {
    /** The value of {@code key=} in the output's last line that has it. */
    long value(String key) {
      Matcher matcher = Pattern.compile("(?:^| )" + Pattern.quote(key) + "=(\\d+)").matcher(out);
      Long last = null;
      while (matcher.find()) {
        last = Long.parseLong(matcher.group(1));
      }
      if (last == null) {
        throw new AssertionError("no " + key + "= in: " + out);
      }
      return last;
    }

    @Override
    public String toString() {
      return "exit " + code + "\nout:\n" + out + "\nerr:\n" + err;
    }
  }

  /** The command, parsed as the launcher parses it, run with its streams captured. */
  static Result load(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CommandLine line = new CommandLine(new LoadCommand());
    line.parseArgs(args);
    LoadCommand command = line.getCommand();
    command.resolveWait = Duration.ofSeconds(10);
    try {
      int code =
          command.run(
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8));
      return new Result(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static List<String> args(AppchainServiceStub stub, String... more) {
    List<String> args = new ArrayList<>(List.of("--node", stub.address()));
    args.addAll(List.of("--seed", "" + SEED, "--accounts", "" + ACCOUNTS));
    args.addAll(List.of(more));
    return args;
  }

  private static Result load(List<String> args) {
    return load(args.toArray(String[]::new));
  }

  /** A wait for the stub's counts, named {@code what}: polled every 10 ms, up to {@code within}. */
  private static ConditionFactory awaitStub(String what, Duration within) {
    return await(what).atMost(within).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10));
  }

  /**
   * The record's transfers, in file order: exactly the service's accepted ones, and a fresh chain
   * fed with them in that order accepts them all and reaches the service's state root.
   */
  private static void assertRecordRebuildsTheChain(Path record, AppchainServiceStub stub)
      throws Exception {
    List<SignedTransfer> recorded = LoadRecord.read(record); // checks each line's hash
    for (String line : Files.readAllLines(record)) {
      assertTrue(JSON.readTree(line).get("submittedAtMillis").asLong() > 0, line);
    }
    Set<String> hashes = new HashSet<>();
    for (SignedTransfer tx : recorded) {
      assertTrue(hashes.add(tx.hash()), "recorded twice: " + tx.hash());
    }
    assertEquals(stub.acceptedHashes(), hashes, "the record is exactly the accepted transfers");
    Chain fresh = Chain.create(WALLETS.genesis(), settings(1_000_000));
    for (SignedTransfer tx : recorded) {
      assertTrue(fresh.submit(tx).accepted(), "a fresh chain refused " + tx.hash());
    }
    while (fresh.produceBlock().isPresent()) {
      // every recorded transfer into a block
    }
    stub.produceBlocks();
    assertEquals(stub.stateRoot(), fresh.stateRoot());
  }

  @Test
  void theRateHoldsInvalidTransfersAreRefusedAndTheRecordRebuildsTheChain() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.produceEvery(Duration.ofMillis(20), true);
      Path record = dir.resolve("record.jsonl");
      Result result =
          load(
              args(
                  stub,
                  "--rate",
                  "200",
                  "--duration",
                  "1500ms",
                  "--invalid-every",
                  "4",
                  "--record",
                  record.toString(),
                  "--wait-proven",
                  "10s"));
      assertEquals(0, result.code(), result.toString());
      long submitted = result.value("submitted");
      // 300 ticks in the window; a loaded test machine may drop some, never add any
      assertTrue(submitted >= 200 && submitted <= 300, result.toString());
      assertEquals(submitted + result.value("missed"), result.value("ticks"), result.toString());
      long invalid = submitted / 4;
      assertEquals((invalid + 2) / 3, result.value("BAD_SIGNATURE"), result.toString());
      assertEquals((invalid + 1) / 3, result.value("BAD_NONCE"), result.toString());
      assertEquals(invalid / 3, result.value("OVERDRAFT"), result.toString());
      assertEquals(invalid, result.value("refused"), result.toString());
      assertEquals(submitted - invalid, result.value("accepted"), result.toString());
      assertEquals(0, result.value("mismatched"), result.toString());
      assertEquals(submitted - invalid, result.value("proven"), result.toString());
      assertTrue(result.out().contains("latency-ms median="), result.toString());
      assertTrue(result.out().contains("proven-tps="), result.toString());
      assertEquals("", result.err());
      assertRecordRebuildsTheChain(record, stub);
    }
  }

  @Test
  void aServiceThatDropsAnswersRestartsAndIsUnavailableLosesNoAcceptedTransfer() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.produceEvery(Duration.ofMillis(20), false);
      Path record = dir.resolve("record.jsonl");
      CompletableFuture<Result> run =
          CompletableFuture.supplyAsync(
              () ->
                  load(
                      args(
                          stub,
                          "--rate",
                          "200",
                          "--duration",
                          "12s",
                          "--invalid-every",
                          "5",
                          "--record",
                          record.toString())));
      // the window opens once the command has read the nonces and signed ahead (slow on a cold
      // JVM); the phases below take some 3 s, the window of 12 s leaves room for a stalled machine
      awaitStub("the first acceptance", Duration.ofSeconds(20))
          .until(stub::acceptedCount, accepted -> accepted >= 1);
      awaitStub("50 accepted", Duration.ofSeconds(5))
          .until(stub::acceptedCount, accepted -> accepted >= 50);
      stub.dropAnswers(3);
      awaitStub("3 answers dropped", Duration.ofSeconds(5))
          .until(stub::dropped, dropped -> dropped == 3);
      int afterDrops = stub.acceptedCount();
      awaitStub("the load goes on: 25 more accepted", Duration.ofSeconds(5))
          .until(stub::acceptedCount, accepted -> accepted >= afterDrops + 25);
      stub.stopServer();
      // not a wait for a condition: the outage lasts 300 ms, connections are refused meanwhile
      Thread.sleep(300);
      stub.startServer();
      int afterRestart = stub.acceptedCount();
      awaitStub("the load resumes: 25 more accepted", Duration.ofSeconds(5))
          .until(stub::acceptedCount, accepted -> accepted >= afterRestart + 25);
      int beforeUnavailable = stub.unavailableAnswers();
      stub.unavailable(true);
      // the service says 503 UNAVAILABLE until the load has met it a few times: a fixed window
      // could pass without a single request on a stalled host
      awaitStub("five requests answered 503 UNAVAILABLE", Duration.ofSeconds(10))
          .until(stub::unavailableAnswers, answers -> answers >= beforeUnavailable + 5);
      stub.unavailable(false);
      Result result = run.get(60, TimeUnit.SECONDS);
      assertEquals(0, result.code(), result.toString());
      assertTrue(result.value("resolved-accepted") >= 3, result.toString());
      assertTrue(result.value("paused") > 0, result.toString());
      assertEquals(0, result.value("mismatched"), result.toString());
      assertEquals(stub.acceptedCount(), result.value("accepted"), result.toString());
      assertRecordRebuildsTheChain(record, stub);
    }
  }

  @Test
  void nonceReadsTheServiceDoesNotAnswerAtFirstAreReadAgain() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.failAccountReads(20);
      Result result = load(args(stub, "--rate", "50", "--duration", "1s"));
      assertEquals(0, result.code(), result.toString());
      assertTrue(result.value("accepted") > 0, result.toString());
      assertEquals(0, result.value("mismatched"), result.toString());
      // every funded account read once, and the 20 refused ones once more
      assertEquals(WALLETS.genesis().size() + 20, stub.accountReads(), result.toString());
    }
  }

  @Test
  void aServiceStillStartingIsWaitedFor() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.unavailable(true);
      CompletableFuture<Result> run =
          CompletableFuture.supplyAsync(() -> load(args(stub, "--rate", "50", "--duration", "1s")));
      awaitStub("three answers 503 UNAVAILABLE", Duration.ofSeconds(10))
          .until(stub::requests, requests -> requests >= 3);
      stub.unavailable(false);
      Result result = run.get(30, TimeUnit.SECONDS);
      assertEquals(0, result.code(), result.toString());
      assertTrue(result.value("accepted") > 0, result.toString());
      assertTrue(
          result.err().matches("load: HTTP 503 .*; waiting up to 10.0 s for the service\\R"),
          result.toString());
    }
  }

  @Test
  void aStalledServiceGetsAtMost64SubmissionsAtOnce() throws Exception {
    Workload many = Workload.generate(SEED, 200, 0, 1, 0);
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(many.genesis(), settings(100_000), null)) {
      stub.holdSubmissions();
      CompletableFuture<Result> run =
          CompletableFuture.supplyAsync(
              () ->
                  load(
                      "--node",
                      stub.address(),
                      "--seed",
                      "" + SEED,
                      "--accounts",
                      "200",
                      "--rate",
                      "400",
                      "--duration",
                      "3s"));
      awaitStub("64 submissions wait for an answer", Duration.ofSeconds(20))
          .until(stub::submitsWaiting, waiting -> waiting >= LoadPacer.MAX_IN_FLIGHT);
      // not a wait for a condition: the pacer goes on ticking for 500 ms while the service stalls,
      // and must not send more
      Thread.sleep(500);
      stub.releaseSubmissions();
      Result result = run.get(30, TimeUnit.SECONDS);
      assertEquals(0, result.code(), result.toString());
      assertTrue(result.value("missed") > 0, result.toString());
      if (result.value("unavailable") == 0) {
        assertEquals(LoadPacer.MAX_IN_FLIGHT, stub.mostSubmitsWaiting(), result.toString());
        assertEquals(stub.acceptedCount(), result.value("accepted"), result.toString());
      } else {
        // a machine so slow that a held submission outlived the client's 5 s timeout: its sender
        // went on after its status said unknown, one more submission per such timeout
        assertTrue(
            stub.mostSubmitsWaiting() <= LoadPacer.MAX_IN_FLIGHT + result.value("unavailable"),
            result.toString());
      }
    }
  }

  @Test
  void nonceReadsOfAServiceThatStaysSilentEndTheRunWithTheReason() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.failAccountReads(Integer.MAX_VALUE);
      Result result = load(args(stub, "--rate", "50", "--duration", "1s"));
      assertEquals(1, result.code(), result.toString());
      assertTrue(
          result
              .err()
              .contains(
                  ": the service is busy (the senders' nonces unread after 10.0 s of trying: is"
                      + " the service overloaded or restarting?)"),
          result.toString());
      assertEquals(0, stub.acceptedCount(), result.toString());
    }
  }

  @Test
  void aFullMempoolIsCountedAndNoMismatch() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(20), null)) {
      Result result = load(args(stub, "--rate", "100", "--duration", "1s"));
      assertEquals(0, result.code(), result.toString());
      assertEquals(20, result.value("accepted"), result.toString());
      assertEquals(result.value("submitted") - 20, result.value("MEMPOOL_FULL"), result.toString());
      assertTrue(result.value("MEMPOOL_FULL") > 0, result.toString());
    }
  }

  @Test
  void proofsThatDoNotComeInTimeFailTheRun() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      stub.produceEvery(Duration.ofMillis(20), false);
      Result result =
          load(args(stub, "--rate", "50", "--duration", "500ms", "--wait-proven", "1s"));
      assertEquals(1, result.code(), result.toString());
      assertEquals(1, result.err().strip().lines().count(), result.toString());
      assertTrue(
          result.err().contains("not proven within --wait-proven 1.0 s (proven height 0)"),
          result.toString());
      assertEquals(0, result.value("proven"), result.toString());
    }
  }

  @Test
  void aGuardedServiceWantsTheToken() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), "s3cret")) {
      Result without = load(args(stub, "--rate", "50", "--duration", "200ms"));
      assertEquals(1, without.code(), without.toString());
      assertTrue(without.err().contains("needs authentication (HTTP 401)"), without.toString());
      Path token = dir.resolve("token");
      Files.writeString(token, "s3cret\n");
      Result with =
          load(args(stub, "--rate", "50", "--duration", "200ms", "--token-file", token.toString()));
      assertEquals(0, with.code(), with.toString());
      assertEquals(stub.acceptedCount(), with.value("accepted"), with.toString());
    }
  }

  @Test
  void overHttpsTrustingTheClusterCa() throws Exception {
    Path keys = NodeProcesses.keySet();
    Path node = keys.resolve("node-1");
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(
            WALLETS.genesis(),
            settings(100_000),
            null,
            dev.pekkoprover.node.HttpsIdentity.server(
                new dev.pekkoprover.node.HttpSettings.TlsFiles(
                    java.util.Optional.of(node.resolve("tls.key")),
                    java.util.Optional.of(node.resolve("tls.crt")),
                    java.util.Optional.empty())))) {
      Result result =
          load(
              args(
                  stub,
                  "--rate",
                  "50",
                  "--duration",
                  "300ms",
                  "--https",
                  "--ca",
                  keys.resolve("ca.crt").toString()));
      assertEquals(0, result.code(), result.toString());
      assertTrue(result.value("accepted") > 0, result.toString());
      assertEquals(stub.acceptedCount(), result.value("accepted"), result.toString());
      long plainStart = System.nanoTime();
      Result plain = load(args(stub, "--rate", "50", "--duration", "300ms"));
      // another protocol is not a busy service: no wait for it
      assertTrue(
          System.nanoTime() - plainStart < TimeUnit.SECONDS.toNanos(8),
          "answered within the client's timeouts, not after the 10 s wait: " + plain);
      assertEquals(1, plain.code(), plain.toString());
      assertTrue(
          plain.err().contains("(if the node serves HTTPS: --https; if this is its cluster --port"),
          plain.toString());
      assertEquals(1, plain.err().strip().lines().count(), plain.toString());
    }
  }

  @Test
  void badInputIsOneLineAndExitCode2() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), settings(100_000), null)) {
      for (List<String> args :
          List.of(
              List.of("load", "--node", stub.address(), "--rate", "0"),
              List.of("load", "--rate", "10"),
              List.of("load", "--node", stub.address(), "--rate", "10", "--duration", "30"),
              List.of("load", "--node", stub.address(), "--rate", "10", "--wait-proven", "soon"),
              List.of("load", "--node", stub.address(), "--rate", "10", "--invalid-every", "1"),
              List.of("load", "--node", stub.address(), "--rate", "10", "--seed", "7"))) {
        LauncherRun run = LauncherRun.of(args.toArray(String[]::new));
        assertEquals(NodeLauncher.USAGE_EXIT, run.code(), args + ": " + run.err());
        assertEquals(1, run.err().strip().lines().count(), args + ": " + run.err());
      }
      assertTrue(
          LauncherRun.of("load", "--node", stub.address(), "--rate", "10", "--seed", "7")
              .err()
              .contains("give the node's --seed and --accounts"));
      assertEquals(0, stub.acceptedCount(), "bad input submits nothing");
    }
  }
}
