package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AppchainClient} on the service's contract ({@link AppchainServiceStub} over a real chain):
 * each answer as its kind (accepted, refused with the mempool's reason, unavailable), the status of
 * a transaction from pending to proven, an account's pending nonce, and answers outside the
 * contract as {@link AppchainClient.AnswerException}.
 */
class AppchainClientTest {
  private static final Workload WALLETS = Workload.generate(42, 10, 0, 1, 0);

  @TempDir Path dir;

  private static AppchainClient client(AppchainServiceStub stub, StatusClient.Access access) {
    return new AppchainClient(
        GuardedNode.open(stub.address(), access, HttpClient.Version.HTTP_1_1));
  }

  private static Wallet funded(int i) {
    return WALLETS.wallets().stream()
        .filter(w -> WALLETS.genesis().containsKey(w.address()))
        .skip(i)
        .findFirst()
        .orElseThrow();
  }

  @Test
  void aTransferGoesFromPendingToProven() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), LoadCommandTest.settings(100), null)) {
      AppchainClient client = client(stub, StatusClient.Access.NONE);
      Wallet from = funded(0);
      String to = funded(1).address();
      assertEquals(0, client.account(from.address()).pendingNonce());
      SignedTransfer tx = from.transfer(to, 7, 0);
      assertEquals(new AppchainClient.Submission.Accepted(tx.hash()), client.submit(tx));
      assertEquals(
          new AppchainClient.AccountView(from.address(), Workload.GENESIS_BALANCE, 0, 1),
          client.account(from.address()));
      assertEquals("pending", client.status(tx.hash()).status());
      stub.produceBlocks();
      assertEquals(new AppchainClient.TxStatus(tx.hash(), "in-block", 0), client.status(tx.hash()));
      AppchainClient.ChainView chain = client.chain();
      assertEquals(1, chain.height());
      assertEquals(0, chain.provenHeight());
      assertEquals(1, chain.accepted());
      stub.proveAll();
      assertEquals(new AppchainClient.TxStatus(tx.hash(), "proven", 0), client.status(tx.hash()));
      assertEquals(1, client.chain().provenHeight());
      assertEquals(1, client.account(from.address()).nonce());
      AppchainClient.TxStatus never = client.status(from.transfer(to, 8, 1).hash());
      assertEquals("unknown", never.status());
      assertTrue(!never.known());
    }
  }

  @Test
  void refusalsCarryTheMempoolsReason() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), LoadCommandTest.settings(2), null)) {
      AppchainClient client = client(stub, StatusClient.Access.NONE);
      Wallet from = funded(0);
      String to = funded(1).address();
      SignedTransfer gap = from.transfer(to, 1, 5);
      AppchainClient.Submission.Refused badNonce =
          assertInstanceOf(AppchainClient.Submission.Refused.class, client.submit(gap));
      assertEquals(RefusalReason.BAD_NONCE, badNonce.reason());
      assertEquals(gap.hash(), badNonce.hash());
      assertTrue(badNonce.message().contains("a gap"), badNonce.message());
      assertEquals(
          RefusalReason.OVERDRAFT,
          ((AppchainClient.Submission.Refused) client.submit(from.transfer(to, Long.MAX_VALUE, 0)))
              .reason());
      SignedTransfer signed = from.transfer(to, 1, 0);
      SignedTransfer forged =
          new SignedTransfer(signed.transfer(), funded(1).transfer(to, 1, 0).signature());
      assertEquals(
          RefusalReason.BAD_SIGNATURE,
          ((AppchainClient.Submission.Refused) client.submit(forged)).reason());
      assertInstanceOf(AppchainClient.Submission.Accepted.class, client.submit(signed));
      assertInstanceOf(
          AppchainClient.Submission.Accepted.class, client.submit(from.transfer(to, 1, 1)));
      AppchainClient.Submission.Refused full =
          assertInstanceOf(
              AppchainClient.Submission.Refused.class, client.submit(from.transfer(to, 1, 2)));
      assertEquals(RefusalReason.MEMPOOL_FULL, full.reason());
    }
  }

  @Test
  void noAnswerIsUnavailable() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), LoadCommandTest.settings(100), null)) {
      AppchainClient client = client(stub, StatusClient.Access.NONE);
      Wallet from = funded(0);
      String to = funded(1).address();

      stub.dropAnswers(1);
      SignedTransfer lost = from.transfer(to, 1, 0);
      assertInstanceOf(AppchainClient.Submission.Unavailable.class, client.submit(lost));
      assertEquals("pending", client.status(lost.hash()).status(), "accepted all the same");

      stub.unavailable(true);
      AppchainClient.Submission.Unavailable starting =
          assertInstanceOf(
              AppchainClient.Submission.Unavailable.class, client.submit(from.transfer(to, 1, 1)));
      assertTrue(starting.message().contains("503 UNAVAILABLE"), starting.message());
      assertThrows(AppchainClient.UnavailableException.class, client::chain);
      stub.unavailable(false);

      stub.stopServer();
      AppchainClient.Submission.Unavailable refused =
          assertInstanceOf(
              AppchainClient.Submission.Unavailable.class, client.submit(from.transfer(to, 1, 1)));
      assertTrue(
          refused.message().contains("no answer from http://" + stub.address()), refused.message());
      assertThrows(AppchainClient.UnavailableException.class, () -> client.account(from.address()));
      stub.startServer();
      assertEquals(1, client.account(from.address()).pendingNonce());
    }
  }

  @Test
  void answersOutsideTheContractSayWhatIsWrong() throws Exception {
    try (AppchainServiceStub stub =
        AppchainServiceStub.start(WALLETS.genesis(), LoadCommandTest.settings(100), "s3cret")) {
      SignedTransfer tx = funded(0).transfer(funded(1).address(), 1, 0);
      AppchainClient.AnswerException noToken =
          assertThrows(
              AppchainClient.AnswerException.class,
              () -> client(stub, StatusClient.Access.NONE).submit(tx));
      assertTrue(noToken.getMessage().contains("--token-file"), noToken.getMessage());
      Path wrong = dir.resolve("wrong");
      Files.writeString(wrong, "nope");
      AppchainClient wrongToken = client(stub, new StatusClient.Access(wrong, false, null));
      assertThrows(AppchainClient.AnswerException.class, wrongToken::chain);
      Path token = dir.resolve("token");
      Files.writeString(token, "s3cret");
      AppchainClient guarded = client(stub, new StatusClient.Access(token, false, null));
      assertInstanceOf(AppchainClient.Submission.Accepted.class, guarded.submit(tx));
    }
    // a node's HTTP server without the service's routes
    com.sun.net.httpserver.HttpServer plain =
        com.sun.net.httpserver.HttpServer.create(
            new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
    plain.start();
    try {
      AppchainClient notAService =
          new AppchainClient(
              GuardedNode.open(
                  "127.0.0.1:" + plain.getAddress().getPort(),
                  StatusClient.Access.NONE,
                  HttpClient.Version.HTTP_1_1));
      AppchainClient.AnswerException noRoute =
          assertThrows(AppchainClient.AnswerException.class, notAService::chain);
      assertTrue(noRoute.getMessage().contains("--service"), noRoute.getMessage());
      assertThrows(
          AppchainClient.AnswerException.class,
          () -> notAService.submit(funded(0).transfer(funded(1).address(), 1, 0)));
    } finally {
      plain.stop(0);
    }
  }
}
