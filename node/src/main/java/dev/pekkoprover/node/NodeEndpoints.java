package dev.pekkoprover.node;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The node's HTTP server (Pekko HTTP, one per node): {@code GET /metrics} (Prometheus text), {@code
 * GET /status} (JSON, {@link StatusReport}), {@code GET /health/alive} and {@code GET
 * /health/ready} (200, or 503 with the reason), and the live dashboard, {@code GET /dashboard}
 * ({@link Dashboard}; {@code /} leads there), then the routes an application mounted ({@link
 * ProverNode#mount}), behind the same guard. Bound to {@code prover.http.host}, loopback by
 * default; unbound in the last phase before the actor system terminates ({@link #unbindLast}).
 *
 * <p>Not to miss: who may read them. A non-loopback address needs HTTPS and a token or client
 * certificates ({@link HttpSettings#check}); when a token is set, every request needs it ({@link
 * EndpointGuard}) except the dashboard's page and files (no data in them) and, with {@code
 * prover.http.open-health}, the health probes.
 */
final class NodeEndpoints {

  /**
   * The bound server's URLs, for the start-up line and for clients.
   *
   * @param base {@code http://host:port} or {@code https://host:port}
   * @param access who may read them, for the start-up line; empty when anyone on loopback may
   */
  record Urls(String base, String access) {
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
      return "dashboard "
          + dashboard()
          + ", status "
          + status()
          + ", metrics "
          + metrics()
          + ", health "
          + alive()
          + " and "
          + ready()
          + (access.isEmpty() ? "" : " (" + access + ")");
    }
  }

  /**
   * What the server needs besides its routes, prepared before the node starts so that a refused
   * configuration starts nothing.
   *
   * @param guard who may read the guarded endpoints
   * @param tls the HTTPS server context, empty for plain HTTP
   */
  record Access(EndpointGuard guard, Optional<HttpsTls> tls) {}

  /**
   * Checks {@code settings} ({@link HttpSettings#check}), reads the token file and the PEM files;
   * throws {@link EndpointsRefusedException} with one line saying what to configure.
   */
  static Access prepare(HttpSettings settings) {
    settings.check();
    return new Access(
        EndpointGuard.of(settings),
        settings.https() ? Optional.of(HttpsTls.prepare(settings.tls())) : Optional.empty());
  }

  /**
   * Writes the endpoints' JSON; reads a report ({@link StatusReport#fromJson}) ignoring fields it
   * does not know, so that a {@code status} of this build reads a newer node's report, whose
   * version 1 may have gained fields (as {@code node.sequencer} did on 2026-12-07).
   */
  static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(
              com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private NodeEndpoints() {}

  /**
   * Serves the node's routes and its mounted ones ({@link #bind}); unbound in the last phase before
   * the actor system terminates.
   */
  static Urls start(
      ActorSystem<?> system,
      HttpSettings settings,
      Access access,
      NodeStatus status,
      AtomicReference<Route> mounted) {
    ProverMetrics metrics = ProverMetrics.get(system);
    Route routes =
        Directives.concat(
            routes(metrics, status, access.guard(), settings.openHealth()),
            access.guard().require(Directives.extractRequestContext(request -> mounted.get())));
    ServerBinding binding = bind(system, settings, access, routes);
    unbindLast(system, binding);
    if (settings.insecureRemote()) {
      system
          .log()
          .warn(
              "the HTTP endpoints on {} are served without {} (prover.http.allow-insecure-remote = on): "
                  + "whoever reaches {}:{} sees the fleet",
              settings.host(),
              settings.https() ? "a token" : "HTTPS",
              settings.host(),
              binding.localAddress().getPort());
    }
    return urls(settings, access, binding);
  }

  /** The URLs of a bound server, for its start-up line and for clients. */
  static Urls urls(HttpSettings settings, Access access, ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    String host = address.getAddress().isAnyLocalAddress() ? "127.0.0.1" : address.getHostString();
    if (host.contains(":")) {
      host = "[" + host + "]"; // an IPv6 literal in a URL
    }
    String scheme = access.tls().isPresent() ? "https" : "http";
    return new Urls(
        scheme + "://" + host + ":" + address.getPort(), describeAccess(settings, access.guard()));
  }

  /**
   * Binds {@code routes} to {@code settings}' address, over HTTPS when {@code access} has a TLS
   * context, and waits (up to 30 s) until it listens; throws with the address when it cannot. Bytes
   * that are not an HTTP request are answered and logged by {@link UnreadableRequests}.
   */
  static ServerBinding bind(
      ActorSystem<?> system, HttpSettings settings, Access access, Route routes) {
    try {
      ServerBuilder server =
          Http.get(system)
              .newServerAt(settings.host(), settings.port())
              .adaptSettings(
                  defaults -> defaults.withParsingErrorHandler(UnreadableRequests.class.getName()));
      if (access.tls().isPresent()) {
        HttpsTls tls = access.tls().get();
        tls.attach(system);
        boolean askForCertificate = settings.clientCertificates();
        server =
            server
                .enableHttps(
                    ConnectionContext.httpsServer(
                        () -> {
                          // renewed files are served from the next connection on
                          SSLEngine engine = tls.context().createSSLEngine();
                          engine.setUseClientMode(false);
                          engine.setWantClientAuth(
                              askForCertificate); // wanted, not needed: a token-only client sends
                          // none
                          return engine;
                        }))
                .adaptSettings(
                    defaults ->
                        defaults.withParserSettings(
                            defaults
                                .getParserSettings()
                                .withIncludeSslSessionAttribute(
                                    true))); // the client's certificate, if any
      }
      // a bind takes milliseconds; 30 s allows for a cold JVM on a loaded machine
      return server.bind(routes).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          "could not serve the node's HTTP endpoints on "
              + settings.host()
              + ":"
              + settings.port()
              + " (prover.http.host / prover.http.port, the launcher's --http-host / --http-port): "
              + cause.getMessage(),
          cause);
    }
  }

  /**
   * Unbinds the server in the last phase before the actor system terminates, with 3 s for the
   * requests under way. Pekko HTTP's own {@code addToCoordinatedShutdown} unbinds in {@code
   * service-unbind}, one of the first phases, before the workers' drain ({@code
   * service-requests-done}, up to {@code prover.worker.drain-timeout}) and the cluster leave: a
   * node that finished a proof of minutes after a SIGTERM answered no probe and no scrape
   * meanwhile, its own draining workers unseen (an operator's trial). So the endpoints answer until
   * the node is out of the cluster: {@code /health/alive} 200 while the actor system runs, {@code
   * /health/ready} 503 once the shutdown has begun ({@link ProverNode#readiness}).
   */
  private static void unbindLast(ActorSystem<?> system, ServerBinding binding) {
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "http-endpoints-unbind",
            () ->
                binding
                    .unbind()
                    .thenCompose(unbound -> binding.terminate(Duration.ofSeconds(3)))
                    .thenApply(terminated -> Done.getInstance()));
  }

  private static String describeAccess(HttpSettings settings, EndpointGuard guard) {
    if (!guard.required()) {
      return settings.remote() ? "no authentication" : "";
    }
    String who =
        settings.tokenFile().isEmpty()
            ? "a client certificate"
            : settings.clientCertificates()
                ? "the bearer token or a client certificate"
                : "the bearer token";
    return who
        + " required"
        + (settings.openHealth() ? ", health open" : ", health too")
        + "; the dashboard's link: "
        + Dashboard.PATH
        + "#token=<token>";
  }

  /**
   * The routes: the dashboard's page and files and (with {@code openHealth}) the health probes for
   * anyone, the rest behind {@code guard}; anything else is 404 (401 first when the guard refuses).
   */
  static Route routes(
      ProverMetrics metrics, NodeStatus status, EndpointGuard guard, boolean openHealth) {
    Route health = health(status::readiness);
    Route data =
        Directives.concat(
            Directives.path(
                "metrics",
                () ->
                    Directives.complete(
                        HttpResponse.create()
                            .withEntity(ContentTypes.TEXT_PLAIN_UTF8, metrics.scrape()))),
            Directives.path(
                "status",
                () ->
                    Directives.completeWithFuture(
                        statusResponse(status::report, status::shuttingDown))));
    return Directives.get(
        () ->
            openHealth
                ? Directives.concat(Dashboard.routes(), health, guard.require(data))
                : Directives.concat(
                    Dashboard.routes(), guard.require(Directives.concat(data, health))));
  }

  /**
   * The {@code /status} answer: 200 with the report, or 503 {@code {"error": ...}} when there is
   * none. Its parts' failures are already problems in the report; what is left fails only as the
   * node stops (its actor system refuses new asks in its last second, which was a 500 with Pekko
   * HTTP's ERROR line), or on a bug, said here with its cause.
   */
  static java.util.concurrent.CompletionStage<HttpResponse> statusResponse(
      Supplier<java.util.concurrent.CompletionStage<StatusReport>> report,
      java.util.function.BooleanSupplier shuttingDown) {
    java.util.concurrent.CompletionStage<StatusReport> answer;
    try {
      answer = report.get();
    } catch (RuntimeException refused) {
      answer = java.util.concurrent.CompletableFuture.failedFuture(refused);
    }
    return answer.handle(
        (done, failure) -> {
          if (failure == null) {
            return json(StatusCodes.OK, done);
          }
          boolean stopping = shuttingDown.getAsBoolean();
          if (!stopping) {
            org.slf4j.LoggerFactory.getLogger(NodeEndpoints.class)
                .warn("/status: the node's status could not be gathered", failure);
          }
          return json(
              StatusCodes.SERVICE_UNAVAILABLE,
              Map.of(
                  "error",
                  stopping
                      ? "the node is shutting down: ask another node"
                      : "the node's status could not be gathered ("
                          + failure
                          + "); try again, and see this node's log"));
        });
  }

  /**
   * {@code /health/alive}: 200 {@code {"alive": true}}; {@code /health/ready}: 200 {@code {"ready":
   * true}}, or 503 {@code {"ready": false, "reason": ...}}, from {@code readiness} at each request.
   */
  static Route health(Supplier<NodeStatus.Readiness> readiness) {
    return Directives.pathPrefix(
        "health",
        () ->
            Directives.concat(
                Directives.path(
                    "alive",
                    () -> Directives.complete(json(StatusCodes.OK, Map.of("alive", true)))),
                Directives.path(
                    "ready",
                    () -> {
                      NodeStatus.Readiness now = readiness.get();
                      return Directives.complete(
                          now.ready()
                              ? json(StatusCodes.OK, Map.of("ready", true))
                              : json(
                                  StatusCodes.SERVICE_UNAVAILABLE,
                                  Map.of("ready", false, "reason", now.reason())));
                    })));
  }

  static HttpResponse json(StatusCode code, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(code)
          .withEntity(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "cannot write " + body.getClass().getSimpleName() + " as JSON", e);
    }
  }
}
