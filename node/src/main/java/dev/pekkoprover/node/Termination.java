package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The end of a node's actor system, with a deadline: waiting on {@code getWhenTerminated} alone can
 * wait forever. Pekko 1.7's Artery waits for its remoting streams without a deadline when the actor
 * system terminates, and over TLS a stream to a peer that was killed can stall it: seen in {@code
 * ClusterProcessesIT} and {@code SequencerPauseIT} on a loaded machine, where CoordinatedShutdown
 * logged {@code phase [actor-system-terminate] timed out after 10000 milliseconds} and the node,
 * its job done, never exited (upstream: apache/pekko#3317 bounds that wait in a later Pekko;
 * akka/akka-core#29162 for the TLS case). A process supervisor needs the exit code, so the launcher
 * stops waiting once the system has had its last shutdown phase's timeout and a margin to finish. A
 * node the cluster downed waits less ({@code prover.cluster.downed-termination-timeout}, 3 s): on
 * the far side of a network partition that wait came in 2 of about 8 cut-off workers (16 s to their
 * exit), and a downed node has nothing left to finish.
 */
public final class Termination {
  /**
   * Beyond the actor-system-terminate phase's own timeout (Pekko's 10 s), before we call the end
   * stalled.
   */
  public static final Duration MARGIN = Duration.ofSeconds(5);

  private Termination() {}

  /**
   * Completes with true when the actor system has terminated, or with false when it has not within
   * {@link #bound} after CoordinatedShutdown reached the actor-system-terminate phase (every
   * earlier phase, the cluster leave included, has run by then). Call before the system starts
   * shutting down: it adds a task to CoordinatedShutdown.
   */
  public static CompletableFuture<Boolean> of(ActorSystem<?> system) {
    CompletableFuture<Boolean> ended =
        system.getWhenTerminated().toCompletableFuture().thenApply(done -> true);
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    // read now: a setting that fails to parse stops the node at its start, not its wait at its end
    Config config = system.settings().config();
    Duration downed = bound(config, Optional.of(CoordinatedShutdown.clusterDowningReason()));
    Duration otherwise = bound(config, Optional.empty());
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "bound-the-wait-for-termination",
        () -> {
          // the reason was set when the shutdown began, before its first phase
          Duration bound =
              shutdown
                      .getShutdownReason()
                      .filter(reason -> reason == CoordinatedShutdown.clusterDowningReason())
                      .isPresent()
                  ? downed
                  : otherwise;
          CompletableFuture.delayedExecutor(bound.toMillis(), TimeUnit.MILLISECONDS)
              .execute(() -> ended.complete(false));
          return CompletableFuture.completedFuture(Done.getInstance());
        });
    return ended;
  }

  /**
   * How long {@link #of} waits, from the actor-system-terminate phase on, before it calls the end
   * stalled: {@code prover.cluster.downed-termination-timeout} for a node the cluster downed (the
   * shutdown's reason is Pekko's cluster-downing reason), else the phase's own timeout plus {@link
   * #MARGIN}.
   *
   * @throws com.typesafe.config.ConfigException when a setting is missing or not a duration
   * @throws IllegalArgumentException when the downed timeout is not positive
   */
  public static Duration bound(Config config, Optional<CoordinatedShutdown.Reason> reason) {
    if (reason.isPresent() && reason.get() == CoordinatedShutdown.clusterDowningReason()) {
      Duration downed = config.getDuration("prover.cluster.downed-termination-timeout");
      if (downed.isZero() || downed.isNegative()) {
        throw new IllegalArgumentException(
            "prover.cluster.downed-termination-timeout must be positive (3s by default), was "
                + downed.toMillis()
                + " ms");
      }
      return downed;
    }
    return config
        .getDuration("pekko.coordinated-shutdown.phases.actor-system-terminate.timeout")
        .plus(MARGIN);
  }

  /**
   * The line for a stalled end of {@code system}: what happened and that the process goes on
   * without waiting.
   */
  public static String stalledLine(ActorSystem<?> system, String node) {
    return stalledLine(
        node,
        bound(system.settings().config(), CoordinatedShutdown.get(system).getShutdownReason()));
  }

  static String stalledLine(String node, Duration bound) {
    return "the actor system of node "
        + node
        + " did not finish terminating within "
        + bound.toMillis() / 1000.0
        + " s of its last shutdown phase (Pekko 1.7's remoting can wait without a deadline for a "
        + "stream to a peer whose connection is closing); the node is out of the cluster, so the process ends without waiting for it any longer";
  }
}
