package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A chain service that does not answer in time (recovering its journal, its database down): a read
 * is 503 UNAVAILABLE "try again"; a submission is 503 too, but its write may have been under way,
 * so the answer carries the transaction's hash and says to send the same body again or ask for the
 * hash, never to sign another transaction with the nonce (a trial found 64 of 64 such answers
 * accepted in the end).
 */
class ChainApiUnansweredTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ActorTestKit testKit = ActorTestKit.create();
  private final HttpClient client = HttpClient.newHttpClient();

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void anUnansweredSubmissionNamesItsHashAndSaysItMayHaveBeenAccepted() throws Exception {
    TestProbe<ChainService.Command> silent = testKit.createTestProbe();
    ServerBinding binding =
        Http.get(testKit.system())
            .newServerAt("127.0.0.1", 0)
            .bind(ChainApi.routes(silent.ref(), testKit.system(), Duration.ofMillis(300)))
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    String base = "http://127.0.0.1:" + binding.localAddress().getPort() + "/appchain";
    Wallet from = Wallet.generate(new SecureRandom());
    SignedTransfer transfer = from.transfer(Wallet.generate(new SecureRandom()).address(), 5, 0);

    HttpResponse<String> submitted =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/transactions"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        JSON.writeValueAsString(ChainApi.TransactionBody.of(transfer))))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    silent.expectMessageClass(ChainService.Submit.class); // asked, never answered
    assertEquals(503, submitted.statusCode(), submitted.body());
    assertEquals(Optional.of("1"), submitted.headers().firstValue("Retry-After"));
    JsonNode body = JSON.readTree(submitted.body());
    assertEquals(transfer.hash(), body.path("hash").asText(), submitted.body());
    assertEquals("UNAVAILABLE", body.path("refused").asText());
    String message = body.path("message").asText();
    assertTrue(message.contains("may have been accepted all the same"), message);
    assertTrue(message.contains("GET /appchain/transactions/" + transfer.hash()), message);
    assertTrue(message.contains("never sign another transaction with this nonce"), message);

    HttpResponse<String> read =
        client.send(
            HttpRequest.newBuilder(URI.create(base + "/chain"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(503, read.statusCode());
    JsonNode readBody = JSON.readTree(read.body());
    assertFalse(readBody.has("hash"), read.body());
    String readMessage = readBody.path("message").asText();
    assertTrue(readMessage.contains("did not answer within 300 ms"), readMessage);
    assertTrue(readMessage.endsWith("try again, or ask another node of the service"), readMessage);
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * An ask that fails at once (the service stopped: a node that shuts down or hands the chain over;
   * Pekko fails such an ask at once, with a TimeoutException as for a real timeout) is not said to
   * be a service silent for the whole timeout (a trial read "did not answer within 5000 ms" 36 ms
   * after asking).
   */
  @Test
  void anAskThatFailedAtOnceIsNotCalledATimeout() throws Exception {
    String quick =
        body(ChainApi.unanswered(null, Duration.ofSeconds(5), 36_000_000L, "(why): try again"));
    assertTrue(
        quick.contains(
            "the appchain service could not be asked (it had stopped here; the ask failed after 36"
                + " ms) (why)"),
        quick);
    assertFalse(quick.contains("did not answer within"), quick);
    String slow =
        body(ChainApi.unanswered(null, Duration.ofSeconds(5), 5_001_000_000L, "(why): try again"));
    assertTrue(slow.contains("did not answer within 5000 ms (why)"), slow);

    // through the route: a service that has stopped fails the ask at once
    TestProbe<ChainService.Command> stopped = testKit.createTestProbe();
    stopped.stop();
    ServerBinding binding =
        Http.get(testKit.system())
            .newServerAt("127.0.0.1", 0)
            .bind(ChainApi.routes(stopped.ref(), testKit.system(), Duration.ofSeconds(5)))
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    HttpResponse<String> read =
        client.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + binding.localAddress().getPort() + "/appchain/chain"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(503, read.statusCode(), read.body());
    assertTrue(read.body().contains("could not be asked (it had stopped here"), read.body());
    binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String body(org.apache.pekko.http.javadsl.model.HttpResponse response) {
    assertEquals(503, response.status().intValue());
    return ((org.apache.pekko.http.javadsl.model.HttpEntity.Strict) response.entity())
        .getData()
        .utf8String();
  }
}
