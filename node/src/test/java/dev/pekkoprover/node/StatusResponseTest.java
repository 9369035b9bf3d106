package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.HttpEntity;
import org.junit.jupiter.api.Test;

/**
 * {@code /status} on a node in its last second: its actor system refuses the report's asks at the
 * call (a trial saw a 500 with Pekko HTTP's ERROR line), and the answer is a 503 saying why.
 */
class StatusResponseTest {
  private static String body(HttpResponse response) {
    return ((HttpEntity.Strict) response.entity()).getData().utf8String();
  }

  @Test
  void aReportRefusedAsTheNodeStopsIs503SayingSo() {
    HttpResponse response =
        NodeEndpoints.statusResponse(
                () -> {
                  throw new IllegalStateException("cannot enqueue after timer shutdown");
                },
                () -> true)
            .toCompletableFuture()
            .join();
    assertEquals(StatusCodes.SERVICE_UNAVAILABLE, response.status());
    assertTrue(body(response).contains("the node is shutting down"), body(response));
  }

  @Test
  void aFailedReportOnARunningNodeIs503WithItsCause() {
    HttpResponse response =
        NodeEndpoints.statusResponse(
                () -> CompletableFuture.failedFuture(new IllegalArgumentException("a bug")),
                () -> false)
            .toCompletableFuture()
            .join();
    assertEquals(StatusCodes.SERVICE_UNAVAILABLE, response.status());
    assertTrue(body(response).contains("a bug"), body(response));
  }
}
