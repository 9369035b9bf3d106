package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.TaskEnvelope;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A cancellation reaches exactly the compute it is for: before it starts, while it runs, never
 * after it returned.
 */
class RunningComputeTest {
  private final RunningCompute run =
      new RunningCompute(new TaskEnvelope("t", "f", "r", "square", 1, 2L), null);

  @Test
  void aComputeCancelledBeforeItStartsDoesNotRun() {
    run.cancel("lease overrun");
    AtomicBoolean ran = new AtomicBoolean();
    assertThrows(InterruptedException.class, () -> run.run(() -> ran.getAndSet(true)));
    assertFalse(ran.get());
  }

  @Test
  void aCancellationInterruptsTheRunningCompute() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CompletableFuture<Object> outcome =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return run.run(
                    () -> {
                      started.countDown();
                      new CountDownLatch(1).await(); // until interrupted
                      return "never";
                    });
              } catch (Exception e) {
                return e;
              }
            });
    assertTrue(started.await(10, TimeUnit.SECONDS));
    run.cancel("node unreachable");
    assertTrue(outcome.get(10, TimeUnit.SECONDS) instanceof InterruptedException);
    assertEquals("node unreachable", run.cancelReason());
  }

  @Test
  void noInterruptOutlivesTheComputeOnItsThread() throws Exception {
    assertEquals(
        "done",
        run.run(
            () -> {
              run.cancel("late"); // comes in while the compute is finishing
              return "done";
            }));
    assertFalse(
        Thread.currentThread().isInterrupted(),
        "the thread's next task must not see the interrupt");
  }
}
