package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A node's HTTP endpoints while it cannot start yet: the launcher waits for a sequencer node's
 * journal database before the node's actor system starts, and a trial's node waiting there answered
 * nothing at all, so a supervisor's liveness probe would restart a node that only waits, and nobody
 * could ask it why it was not up.
 *
 * <p>While open: {@code /health/alive} 200 (the process lives and will start by itself); {@code
 * /health/ready} 503 {@code {"ready": false, "reason": ...}}; every other path and method 503
 * {@code {"starting": true, "reason": ...}} with {@code Retry-After: 5}, so that a scrape counts
 * the node as down (Prometheus' {@code up} is 0 for an answer that is not 2xx) and a client of
 * {@code /status} or of a mounted API learns why. Same address, HTTPS, token and client-certificate
 * rules as the node's own endpoints ({@code prover.http}, {@code prover.tls}: {@link
 * NodeEndpoints#prepare}), served by a small local actor system of its own that {@link #close} ends
 * before the node starts. On port 0 the node then takes the port this server had ({@link
 * #handOver}), so its URL stays the same.
 */
public final class WaitingEndpoints implements AutoCloseable {
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

  /** The {@code Retry-After} of the 503 answers other than the readiness probe's, in seconds. */
  static final long RETRY_AFTER_SECONDS = 5;

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final NodeEndpoints.Urls urls;

  private WaitingEndpoints(
      ActorSystem<Void> system, ServerBinding binding, NodeEndpoints.Urls urls) {
    this.system = system;
    this.binding = binding;
    this.urls = urls;
  }

  /**
   * Serves the endpoints of the node {@code config} describes, answering with {@code reason} (read
   * at each request) until {@link #close}; empty when the node serves none ({@code
   * prover.http.enabled = off}).
   *
   * @throws EndpointsRefusedException for a configuration the node itself would refuse (a remote
   *     address without TLS, an unreadable token file), with what to configure
   * @throws IllegalStateException when the address cannot be bound, naming it
   */
  public static Optional<WaitingEndpoints> open(Config config, Supplier<String> reason) {
    HttpSettings settings = HttpSettings.fromConfig(config);
    if (!settings.enabled()) {
      return Optional.empty();
    }
    NodeEndpoints.Access access = NodeEndpoints.prepare(settings);
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "prover-node-waiting",
            ConfigFactory.parseMap(
                    Map.of(
                        "pekko.actor.provider", "local",
                        "pekko.coordinated-shutdown.exit-jvm", "off"),
                    "the waiting endpoints' own system")
                .withFallback(config));
    try {
      Route health = NodeEndpoints.health(() -> new NodeStatus.Readiness(false, reason.get()));
      Route elsewhere =
          Directives.extractUnmatchedPath(
              path ->
                  Directives.complete(
                      NodeEndpoints.json(
                              StatusCodes.SERVICE_UNAVAILABLE,
                              Map.of("starting", true, "reason", reason.get()))
                          .addHeader(RetryAfter.create(RETRY_AFTER_SECONDS))));
      EndpointGuard guard = access.guard();
      Route routes =
          settings.openHealth()
              ? Directives.concat(Directives.get(() -> health), guard.require(elsewhere))
              : guard.require(Directives.concat(Directives.get(() -> health), elsewhere));
      ServerBinding binding = NodeEndpoints.bind(system, settings, access, routes);
      return Optional.of(
          new WaitingEndpoints(system, binding, NodeEndpoints.urls(settings, access, binding)));
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /** Where to ask, for the launcher's line: {@code http(s)://host:port}. */
  public String base() {
    return urls.base();
  }

  /** The line that says where the waiting node answers, and what. */
  public String describe() {
    return "health "
        + urls.alive()
        + " (200) and "
        + urls.ready()
        + " (503 with the reason), every other path 503 until it starts"
        + (urls.access().isEmpty() ? "" : " (" + urls.access() + ")");
  }

  /**
   * {@code config} with {@code prover.http.port} set to this server's port when it asked for a free
   * one (0), so the node serves where this server did; else {@code config} as it is.
   */
  public Config handOver(Config config) {
    if (!config.getBoolean("prover.http.enabled") || config.getInt("prover.http.port") != 0) {
      return config;
    }
    return config.withValue(
        "prover.http.port", ConfigValueFactory.fromAnyRef(binding.localAddress().getPort()));
  }

  /**
   * Unbinds the server and ends its actor system, waiting up to 10 s: then the node can bind the
   * same port.
   */
  @Override
  public void close() {
    try {
      binding.unbind().toCompletableFuture().get(CLOSE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      binding
          .terminate(Duration.ofSeconds(1))
          .toCompletableFuture()
          .get(CLOSE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      system
          .log()
          .warn("the waiting endpoints on {} did not unbind: {}", urls.base(), e.toString());
    } finally {
      system.terminate();
      try {
        system
            .getWhenTerminated()
            .toCompletableFuture()
            .get(CLOSE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (Exception e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
