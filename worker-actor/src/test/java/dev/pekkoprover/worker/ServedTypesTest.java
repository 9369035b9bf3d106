package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestTasks;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServedTypesTest {
  private final ServedTypes types =
      new ServedTypes(
          TaskCatalog.of(
              TestTasks.Add.INSTANCE, TestTasks.Compile.INSTANCE, TestTasks.Square.INSTANCE));

  @Test
  void eachStateServesItsShareOfTheCatalogInCatalogOrder() {
    assertEquals(
        List.of(WorkerRegistrationTask.NAME, "compile"),
        List.copyOf(types.served(WorkerState.UNPREPARED)));
    assertEquals(List.of("compile"), List.copyOf(types.served(WorkerState.REGISTERED)));
    assertEquals(List.of("add", "compile", "square"), List.copyOf(types.served(WorkerState.READY)));
  }

  @Test
  void onlyRegularTypesArePreparedInCatalogOrder() {
    assertEquals(List.of("add", "square"), types.regular().stream().map(TaskType::name).toList());
  }

  @Test
  void aCatalogOfOnlyRegistrationServesNothingOnceRegistered() {
    ServedTypes bare = new ServedTypes(TaskCatalog.of());
    assertEquals(
        List.of(WorkerRegistrationTask.NAME), List.copyOf(bare.served(WorkerState.UNPREPARED)));
    assertTrue(bare.served(WorkerState.REGISTERED).isEmpty());
    assertTrue(bare.served(WorkerState.READY).isEmpty());
    assertTrue(bare.regular().isEmpty());
  }

  @Test
  void declineReasonsSayWhy() {
    assertEquals(
        "worker w is already registered",
        types.notServedReason("w", WorkerState.READY, WorkerRegistrationTask.NAME));
    assertTrue(
        types
            .notServedReason("w", WorkerState.UNPREPARED, "square")
            .contains("not registered yet"));
    assertTrue(
        types.notServedReason("w", WorkerState.REGISTERED, "square").contains("still preparing"));
    String unknown = types.notServedReason("w", WorkerState.READY, "block");
    assertTrue(
        unknown.contains("not configured for task type 'block'") && unknown.contains("square"),
        unknown);
  }

  @Test
  void eachServedTypeRunsWithTheRegistrationAndItsOwnPreparedState() {
    Map<String, ServedTypes.ServedType> unprepared =
        types.inState(WorkerState.UNPREPARED, "w", null, List.of());
    assertEquals(types.served(WorkerState.UNPREPARED), unprepared.keySet());
    assertNull(unprepared.get("compile").context().registration(), "not registered yet");

    // prepared states in regular() order: add, square; add's prepare returned null
    Map<String, ServedTypes.ServedType> ready =
        types.inState(WorkerState.READY, "w", "keys", Arrays.asList(null, "square-state"));
    assertEquals(types.served(WorkerState.READY), ready.keySet());
    assertEquals("square-state", ready.get("square").context().prepared(String.class));
    assertEquals("keys", ready.get("square").context().registration());
    assertEquals(TestTasks.Square.INSTANCE, ready.get("square").type());
    IllegalStateException none =
        assertThrows(
            IllegalStateException.class,
            () -> ready.get("compile").context().prepared(String.class));
    assertTrue(none.getMessage().contains("no prepare step"), none.getMessage());
  }
}
