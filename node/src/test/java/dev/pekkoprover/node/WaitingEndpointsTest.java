package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The endpoints of a node that waits before it can start (its journal database does not answer):
 * alive, not ready and why, every other path 503 with the same reason; the same token rules as the
 * node's own endpoints; closed, the port is free for the node.
 */
class WaitingEndpointsTest {
  @TempDir Path dir;

  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static Config config(String overrides) {
    return ConfigFactory.parseString("prover.http.enabled = on\nprover.http.port = 0\n" + overrides)
        .withFallback(ConfigFactory.load());
  }

  private HttpResponse<String> get(String url, String token) throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET();
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aWaitingNodeIsAliveNotReadyAndSaysWhyOnEveryPathThenFreesItsPort() throws Exception {
    AtomicReference<String> reason = new AtomicReference<>("the journal database X, attempt 1");
    Config config = config("");
    WaitingEndpoints waiting = WaitingEndpoints.open(config, reason::get).orElseThrow();
    int port;
    try {
      String base = waiting.base();
      assertEquals(200, get(base + "/health/alive", null).statusCode());
      HttpResponse<String> ready = get(base + "/health/ready", null);
      assertEquals(503, ready.statusCode());
      assertTrue(ready.body().contains("\"ready\" : false"), ready.body());
      assertTrue(ready.body().contains("the journal database X, attempt 1"), ready.body());

      reason.set("the journal database X, attempt 2"); // read at each request
      for (String path : new String[] {"/status", "/metrics", "/appchain/chain", "/dashboard"}) {
        HttpResponse<String> answer = get(base + path, null);
        assertEquals(503, answer.statusCode(), path);
        assertTrue(answer.body().contains("\"starting\" : true"), path + ": " + answer.body());
        assertTrue(answer.body().contains("attempt 2"), path + ": " + answer.body());
        assertEquals(
            Optional.of("" + WaitingEndpoints.RETRY_AFTER_SECONDS),
            answer.headers().firstValue("Retry-After"),
            path);
      }
      HttpResponse<String> post =
          client.send(
              HttpRequest.newBuilder(URI.create(base + "/appchain/transactions"))
                  .POST(HttpRequest.BodyPublishers.ofString("{}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(503, post.statusCode(), "a submission is refused, not lost: " + post.body());

      port = URI.create(base).getPort();
    } finally {
      waiting.close();
    }
    try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      assertEquals(port, socket.getLocalPort(), "closed, the port is free for the node");
    }
  }

  @Test
  void theNodesTokenGuardsThemAndTheProbesStayOpenAsConfigured() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "s3cret\n");
    String tokenSetting = "prover.http.token-file = \"" + token + "\"\n";
    try (WaitingEndpoints open =
        WaitingEndpoints.open(config(tokenSetting), () -> "waiting").orElseThrow()) {
      assertEquals(503, get(open.base() + "/health/ready", null).statusCode(), "open health");
      assertEquals(401, get(open.base() + "/status", null).statusCode());
      assertEquals(503, get(open.base() + "/status", "s3cret").statusCode());
      assertTrue(open.describe().contains("the bearer token required"), open.describe());
    }
    try (WaitingEndpoints guarded =
        WaitingEndpoints.open(config(tokenSetting + "prover.http.open-health = off"), () -> "w")
            .orElseThrow()) {
      assertEquals(401, get(guarded.base() + "/health/alive", null).statusCode());
      assertEquals(200, get(guarded.base() + "/health/alive", "s3cret").statusCode());
    }
  }

  @Test
  void aConfigurationTheNodeRefusesIsRefusedBeforeAnyWait() {
    EndpointsRefusedException refused =
        assertThrows(
            EndpointsRefusedException.class,
            () -> WaitingEndpoints.check(config("prover.http.host = \"0.0.0.0\"")));
    assertTrue(refused.getMessage().contains("0.0.0.0"), refused.getMessage());
    WaitingEndpoints.check(config("")); // loopback: fine
  }

  @Test
  void aNodeWithoutEndpointsServesNoneWhileItWaits() {
    assertTrue(
        WaitingEndpoints.open(config("prover.http.enabled = off"), () -> "waiting").isEmpty());
  }
}
