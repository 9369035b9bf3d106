package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WorkerTaskContextTest {

  @Test
  void handsOutThePreparedStateAndTheRegistration() {
    WorkerTaskContext context = WorkerTaskContext.withPreparedState("w", "square", "keys", 42L);
    assertEquals("w", context.workerId());
    assertEquals("keys", context.registration(String.class));
    assertEquals(42L, context.prepared(Long.class));
  }

  @Test
  void missingPreparedStateFailsWithTheReason() {
    WorkerTaskContext unprepared =
        WorkerTaskContext.withoutPreparedState("w", "compile", null, "no prepare step");
    String message =
        assertThrows(IllegalStateException.class, () -> unprepared.prepared(Object.class))
            .getMessage();
    assertTrue(
        message.contains("'compile'")
            && message.contains("worker w")
            && message.contains("no prepare step"),
        message);

    WorkerTaskContext nullState = WorkerTaskContext.withPreparedState("w", "add", "keys", null);
    message =
        assertThrows(IllegalStateException.class, () -> nullState.prepared(String.class))
            .getMessage();
    assertTrue(message.contains("returned null"), message);

    WorkerTaskContext other = WorkerTaskContext.withPreparedState("w", "square", "keys", 42L);
    message =
        assertThrows(IllegalStateException.class, () -> other.prepared(String.class)).getMessage();
    assertTrue(message.contains("java.lang.Long") && message.contains("java.lang.String"), message);
  }

  @Test
  void anUnregisteredContextHasNoRegistration() {
    WorkerTaskContext context =
        WorkerTaskContext.withoutPreparedState("w", "compile", null, "no prepare step");
    assertThrows(IllegalStateException.class, () -> context.registration(String.class));
  }
}
