package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * The launcher's wait for a node's end is bounded, also when the actor system's termination stalls.
 */
class TerminationTest {

  private static ActorSystem<Void> system() {
    return system("pekko.coordinated-shutdown.phases.actor-system-terminate.timeout = 1s");
  }

  private static ActorSystem<Void> system(String config) {
    return ActorSystem.create(
        Behaviors.empty(),
        "termination",
        ConfigFactory.parseString(config).withFallback(ConfigFactory.load()));
  }

  /** A termination callback that does not return until released, as a stalled remoting stream. */
  private static CountDownLatch stall(ActorSystem<Void> system) {
    CountDownLatch release = new CountDownLatch(1);
    system
        .classicSystem()
        .registerOnTermination(
            () -> {
              try {
                release.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    return release;
  }

  @Test
  void aTerminatedSystemEndsWithTrue() throws Exception {
    ActorSystem<Void> system = system();
    CompletableFuture<Boolean> ended = Termination.of(system);
    system.terminate();
    assertTrue(ended.get(20, TimeUnit.SECONDS));
  }

  @Test
  void aStalledTerminationEndsWithFalseAfterTheLastPhasesTimeoutAndTheMargin() throws Exception {
    ActorSystem<Void> system = system();
    CompletableFuture<Boolean> ended = Termination.of(system);
    CountDownLatch release = stall(system);
    long start = System.nanoTime();
    system.terminate();
    assertEquals(false, ended.get(30, TimeUnit.SECONDS), "the end is called stalled");
    long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(
        waitedMillis >= Termination.MARGIN.toMillis() + 1000 - 100,
        "not before the phase's 1 s and the margin: " + waitedMillis + " ms");
    assertFalse(
        system.getWhenTerminated().toCompletableFuture().isDone(),
        "the system was still terminating");
    release.countDown();
    system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /**
   * A node the cluster downed (on the far side of a partition, where the stall is certain) waits
   * only {@code prover.cluster.downed-termination-timeout}, not the phase's timeout and the margin:
   * with the phase's timeout at 10 s, the end is called stalled well before 10 s.
   */
  @Test
  void aDownedNodesStalledTerminationEndsAfterTheDownedTimeout() throws Exception {
    ActorSystem<Void> system =
        system(
            "pekko.coordinated-shutdown.phases.actor-system-terminate.timeout = 10s\n"
                + "prover.cluster.downed-termination-timeout = 1s");
    CompletableFuture<Boolean> ended = Termination.of(system);
    CountDownLatch release = stall(system);
    CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.clusterDowningReason());
    assertEquals(
        false,
        ended.get(8, TimeUnit.SECONDS),
        "the end of a downed node is called stalled after 1 s, not after the phase's 10 s + 5 s");
    assertTrue(
        Termination.stalledLine(system, "127.0.0.1:2552")
            .contains("did not finish terminating within 1.0 s of its last shutdown phase"),
        Termination.stalledLine(system, "127.0.0.1:2552"));
    release.countDown();
    system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  @Test
  void theBoundIsTheDownedTimeoutOnlyForTheClusterDowningReason() {
    Config config = ConfigFactory.load();
    assertEquals(
        Duration.ofSeconds(3),
        Termination.bound(config, Optional.of(CoordinatedShutdown.clusterDowningReason())));
    assertEquals(
        Duration.ofSeconds(15),
        Termination.bound(config, Optional.of(CoordinatedShutdown.clusterLeavingReason())));
    assertEquals(Duration.ofSeconds(15), Termination.bound(config, Optional.empty()));
  }

  /** A downed timeout that is not positive stops the node at its start, not its wait at its end. */
  @Test
  void aDownedTimeoutThatIsNotPositiveIsRefusedWhenTheWaitIsSetUp() {
    ActorSystem<Void> system = system("prover.cluster.downed-termination-timeout = 0s");
    try {
      IllegalArgumentException refused =
          org.junit.jupiter.api.Assertions.assertThrows(
              IllegalArgumentException.class, () -> Termination.of(system));
      assertTrue(
          refused
              .getMessage()
              .contains("prover.cluster.downed-termination-timeout must be positive"),
          refused.getMessage());
    } finally {
      system.terminate();
    }
  }
}
