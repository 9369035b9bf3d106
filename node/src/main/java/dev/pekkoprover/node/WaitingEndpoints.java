package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
   * Throws what {@link #open} would for a configuration the node refuses, without serving anything:
   * for a caller that opens the endpoints later on another thread.
   *
   * @throws EndpointsRefusedException with what to configure
   */
  public static void check(Config config) {
    HttpSettings settings = HttpSettings.fromConfig(config);
    if (settings.enabled()) {
      NodeEndpoints.prepare(settings);
    }
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
      Route elsewhere = // the reason read at each request, not once when the route is built
          Directives.extractRequest(
              request ->
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
   * Unbinds the server and ends its actor system, within 10 s in all: then the node can bind the
   * same port. A server that does not end in time is left to the JVM with a WARN line.
   */
  @Override
  public void close() {
    long deadline = System.nanoTime() + CLOSE_TIMEOUT.toNanos();
    try {
      binding.unbind().toCompletableFuture().get(left(deadline), TimeUnit.NANOSECONDS);
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(left(deadline), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      system.terminate();
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      system.terminate();
      system
          .log()
          .warn(
              "the waiting endpoints on {} did not end within {} s: {}",
              urls.base(),
              CLOSE_TIMEOUT.toSeconds(),
              e.toString());
    }
  }

  private static long left(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }
}
