package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import dev.pekkoprover.node.WaitingEndpoints;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sequencer node's wait for its journal database at start-up, seen from outside: the node's
 * {@link WaitingEndpoints} open at the first failed attempt, or after {@link #FIRST_ATTEMPT_GRACE}
 * while the first attempt still hangs (a database host that takes the connection and says nothing
 * holds an attempt up to the driver's socketTimeout, 30 s), and answer with the latest reason until
 * {@link #close}. An endpoint that cannot be served (its port taken) costs a WARN line, not the
 * node: it goes on waiting for its database.
 */
final class DatabaseWait implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DatabaseWait.class);

  /** How long the first attempt may take before the endpoints open anyway. */
  static final Duration FIRST_ATTEMPT_GRACE = Duration.ofSeconds(2);

  private final Config config;
  private final String node;
  private final PrintStream out;
  private final AtomicReference<String> reason;
  private final ScheduledExecutorService timer;
  private final String database;
  private final SignalWatch signals;
  private final Thread exitHook;
  private WaitingEndpoints endpoints;
  private boolean closed;
  private boolean cannotServe;

  /**
   * Starts the first attempt's grace period; opens nothing yet.
   *
   * @param config the node's configuration (its {@code prover.http}), checked at once: a
   *     configuration the node refuses throws {@link
   *     dev.pekkoprover.node.EndpointsRefusedException} here, on the caller's thread
   * @param node the node's {@code host:port}, for the line
   * @param database the database's name in words, for the reason before any attempt failed
   */
  DatabaseWait(Config config, String node, String database, PrintStream out) {
    WaitingEndpoints.check(config);
    this.config = config;
    this.node = node;
    this.out = out;
    this.reason =
        new AtomicReference<>(
            "the journal database "
                + database
                + " has not answered the first attempt since "
                + Instant.now().truncatedTo(ChronoUnit.SECONDS));
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "database-wait");
              thread.setDaemon(true);
              return thread;
            });
    timer.schedule(this::open, FIRST_ATTEMPT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    this.database = database;
    this.signals = SignalWatch.start();
    this.exitHook = new Thread(this::onJvmShutdown, "database-wait-exit");
    Runtime.getRuntime().addShutdownHook(exitHook);
  }

  /**
   * A stop signal while the node waits: it has started nothing, so nothing is left to drain or
   * leave; one line says so and the JVM exits with 0, as a node stopped after its start does
   * ({@link NodeExit}), not with 143, which supervisors count as a failure (a trial's finding).
   */
  private void onJvmShutdown() {
    if (!signals.stoppedBySignal()) {
      return; // System.exit from within: its code stands
    }
    System.err.printf(
        "node %s stopped by %s while it waited for its journal database %s: it had not started,"
            + " so nothing was left to finish; exiting with code %d%n",
        node, signals.signalName(), database, NodeExit.LEFT);
    System.out.flush();
    System.err.flush();
    Runtime.getRuntime().halt(NodeExit.LEFT);
  }

  /** An attempt failed for {@code why}: the endpoints answer with it from now on. */
  void failed(String why) {
    reason.set(why);
    open();
  }

  private synchronized void open() {
    if (closed || endpoints != null || cannotServe) {
      return;
    }
    try {
      WaitingEndpoints.open(config, reason::get)
          .ifPresent(
              opened -> {
                endpoints = opened;
                // the reason says whether an attempt failed or the first one is only slow (a
                // trial on a busy host took the bare line for a database that was down)
                out.printf(
                    "node %s waits for its journal database (%s); meanwhile %s%n",
                    node, reason.get(), opened.describe());
              });
    } catch (RuntimeException e) {
      cannotServe = true;
      log.warn(
          "node {} cannot serve its HTTP endpoints while it waits for its journal database: {}",
          node,
          e.getMessage());
    }
  }

  /** The database answered (or the wait ended otherwise): the endpoints close, the port is free. */
  @Override
  public synchronized void close() {
    closed = true;
    timer.shutdownNow();
    try {
      Runtime.getRuntime().removeShutdownHook(exitHook); // the node's own exit takes over
    } catch (IllegalStateException shuttingDown) {
      // the JVM is shutting down: the hook runs
    }
    if (endpoints != null) {
      endpoints.close();
      endpoints = null;
    }
  }
}
