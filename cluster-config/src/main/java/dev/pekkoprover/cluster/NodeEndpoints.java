package dev.pekkoprover.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The node's HTTP server (Pekko HTTP, one per node): {@code GET /metrics} (Prometheus text), {@code GET /status}
 * (JSON, {@link StatusReport}), {@code GET /health/alive} and {@code GET /health/ready} (200, or 503 with the reason),
 * and the live dashboard, {@code GET /dashboard} ({@link Dashboard}; {@code /} leads there).
 * Bound to {@code prover.http.host}, loopback by default; unbound with the actor system.
 *
 * <p>Not to miss: no authentication yet. Keep it on loopback, or on a network only the scraper and the probes reach.
 */
final class NodeEndpoints {

  /** The bound server's URLs, for the start-up line and for clients. */
  record Urls(String base) {
    String status() {
      return base + "/status";
    }

    String metrics() {
      return base + "/metrics";
    }

    String alive() {
      return base + "/health/alive";
    }

    String ready() {
      return base + "/health/ready";
    }

    String dashboard() {
      return base + "/" + Dashboard.PATH;
    }

    /** The start-up line's text. */
    String describe() {
      return "dashboard " + dashboard() + ", status " + status() + ", metrics " + metrics() + ", health " + alive()
          + " and " + ready();
    }
  }

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private NodeEndpoints() {}

  /** Binds the server and waits (up to 10 s) until it listens; throws with the address when it cannot. */
  static Urls start(ActorSystem<?> system, HttpSettings settings, NodeStatus status) {
    ProverMetrics metrics = ProverMetrics.get(system);
    Route routes = routes(metrics, status);
    ServerBinding binding;
    try {
      binding = Http.get(system).newServerAt(settings.host(), settings.port()).bind(routes)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException("could not serve the node's HTTP endpoints on " + settings.host() + ":"
          + settings.port() + " (prover.http.host / prover.http.port, the launcher's --http-host / --http-port): "
          + cause.getMessage(), cause);
    }
    binding.addToCoordinatedShutdown(Duration.ofSeconds(3), system);
    InetSocketAddress address = binding.localAddress();
    String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getHostString();
    if (host.contains(":")) {
      host = "[" + host + "]"; // an IPv6 literal in a URL
    }
    return new Urls("http://" + host + ":" + address.getPort());
  }

  static Route routes(ProverMetrics metrics, NodeStatus status) {
    return Directives.get(() -> Directives.concat(
        Directives.path("metrics", () -> Directives.complete(HttpResponse.create()
            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape()))),
        Directives.path("status", () -> Directives.completeWithFuture(
            status.report().thenApply(report -> json(StatusCodes.OK, report)))),
        Directives.pathPrefix("health", () -> Directives.concat(
            Directives.path("alive", () -> Directives.complete(json(StatusCodes.OK, Map.of("alive", true)))),
            Directives.path("ready", () -> {
              NodeStatus.Readiness readiness = status.readiness();
              return Directives.complete(readiness.ready()
                  ? json(StatusCodes.OK, Map.of("ready", true))
                  : json(StatusCodes.SERVICE_UNAVAILABLE, Map.of("ready", false, "reason", readiness.reason())));
            }))),
        Dashboard.routes()));
  }

  private static HttpResponse json(StatusCode code, Object body) {
    try {
      return HttpResponse.create().withStatus(code)
          .withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + body.getClass().getSimpleName() + " as JSON", e);
    }
  }
}
