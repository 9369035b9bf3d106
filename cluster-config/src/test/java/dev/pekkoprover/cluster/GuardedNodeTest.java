package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.EndpointsRefusedException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@code status} and {@code load} reach a node from {@code --node} and their access options:
 * the base URI, HTTPS when asked, the bearer token on every request, and one-sentence refusals.
 */
class GuardedNodeTest {
  @TempDir Path dir;

  @Test
  void theAddressBecomesABaseUri() {
    assertEquals(URI.create("http://127.0.0.1:8080"), GuardedNode.baseUri("127.0.0.1:8080", false));
    assertEquals(URI.create("https://node-1:8443"), GuardedNode.baseUri("node-1:8443", true));
    assertEquals(
        URI.create("https://node-1:8443"),
        GuardedNode.baseUri("https://node-1:8443/status", false));
    assertEquals(URI.create("http://h:1"), GuardedNode.baseUri(" http://h:1/ ", false));
    assertEquals(URI.create("http://h:1/status"), StatusClient.statusUri("h:1"));
  }

  @Test
  void whatIsNoAddressIsRefusedNamingNode() {
    for (String bad : new String[] {null, " ", "host", "host:", "host:port", "host:0", "h:1/x"}) {
      IllegalArgumentException refused =
          assertThrows(IllegalArgumentException.class, () -> GuardedNode.baseUri(bad, false));
      assertTrue(refused.getMessage().contains("--node"), refused.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> GuardedNode.baseUri("http://h:1", true));
  }

  @Test
  void everyRequestCarriesTheTokenOfTheTokenFile() throws Exception {
    Path token = dir.resolve("token");
    Files.writeString(token, "s3cret\n");
    GuardedNode node =
        GuardedNode.open(
            "127.0.0.1:9",
            new StatusClient.Access(token, false, null),
            HttpClient.Version.HTTP_1_1);
    HttpRequest request = node.request("/appchain/chain", Duration.ofSeconds(1)).GET().build();
    assertEquals(URI.create("http://127.0.0.1:9/appchain/chain"), request.uri());
    assertEquals("Bearer s3cret", request.headers().firstValue("Authorization").orElseThrow());
    assertEquals(HttpClient.Version.HTTP_1_1, node.client().version());
    assertEquals(GuardedNode.CONNECT_TIMEOUT, node.connectTimeout());

    GuardedNode open =
        GuardedNode.open("127.0.0.1:9", StatusClient.Access.NONE, HttpClient.Version.HTTP_2);
    assertFalse(
        open.request("/status", Duration.ofSeconds(1))
            .GET()
            .build()
            .headers()
            .firstValue("Authorization")
            .isPresent());
  }

  @Test
  void aMissingTokenFileOrCaFileIsRefused() {
    Path missing = dir.resolve("missing");
    assertThrows(
        EndpointsRefusedException.class,
        () ->
            GuardedNode.open(
                "h:1", new StatusClient.Access(missing, false, null), HttpClient.Version.HTTP_2));
    EndpointsRefusedException noCa =
        assertThrows(
            EndpointsRefusedException.class,
            () ->
                GuardedNode.open(
                    "h:1",
                    new StatusClient.Access(null, false, missing),
                    HttpClient.Version.HTTP_2));
    assertTrue(noCa.getMessage().contains("--ca"), noCa.getMessage());
    GuardedNode https =
        GuardedNode.open(
            "h:1", new StatusClient.Access(null, true, null), HttpClient.Version.HTTP_2);
    assertEquals("https", https.base().getScheme());
    assertEquals(GuardedNode.HTTPS_CONNECT_TIMEOUT, https.connectTimeout());
  }
}
