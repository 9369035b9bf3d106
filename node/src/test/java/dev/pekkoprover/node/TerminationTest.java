package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;

/**
 * The launcher's wait for a node's end is bounded, also when the actor system's termination stalls.
 */
class TerminationTest {

  private static ActorSystem<Void> system() {
    return ActorSystem.create(
        Behaviors.empty(),
        "termination",
        ConfigFactory.parseString(
                "pekko.coordinated-shutdown.phases.actor-system-terminate.timeout = 1s")
            .withFallback(ConfigFactory.load()));
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
    CountDownLatch release = new CountDownLatch(1);
    // a termination callback that does not return stands for a remoting stream that never completes
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
}
