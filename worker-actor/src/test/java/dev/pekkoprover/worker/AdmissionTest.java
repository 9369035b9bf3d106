package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.worker.Admission.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which task a worker takes, in which order the checks go, and the slots and waiting line it keeps.
 */
class AdmissionTest {
  private static final String OLD_RUN = "r0000000000001-00000000";
  private static final String RUN = "r0000000000002-00000000";
  private static final String NEW_RUN = "r0000000000003-00000000";
  private static final TaskType<?, ?> SQUARE = TestTasks.Square.INSTANCE;
  private static final TaskType<?, ?> COMPILE = TestTasks.Compile.INSTANCE;
  private static final TaskType<?, ?> INLINE_SQUARE =
      new ForwardingTaskType<>(TestTasks.Square.INSTANCE) {
        @Override
        public boolean runsInline() {
          return true;
        }
      };

  private final Admission admission = new Admission(2);

  private static TaskEnvelope task(String id, String type, String runId) {
    return new TaskEnvelope(id, "f", runId, type, 1, Num.of(3));
  }

  private static TaskEnvelope square(String id) {
    return task(id, "square", RUN);
  }

  /** Starts a task's compute the way the worker does on START. */
  private void start(TaskEnvelope task) {
    assertEquals(Verdict.START, admission.admit(task, WorkerState.READY, RUN, SQUARE));
    admission.started(new RunningCompute(task, null));
  }

  @Test
  void aRegistrationTaskRegistersOnlyAnUnpreparedWorkerThatServesIt() {
    TaskEnvelope registration = task("reg", WorkerRegistrationTask.NAME, RUN);
    assertEquals(
        Verdict.REGISTER,
        admission.admit(
            registration, WorkerState.UNPREPARED, null, WorkerRegistrationTask.INSTANCE));
    assertEquals(Verdict.NOT_SERVED, admission.admit(registration, WorkerState.READY, RUN, null));
  }

  @Test
  void aTaskOfANewerRunRegistersAgainOnceRegisteredButNotBefore() {
    assertEquals(
        Verdict.REGISTER_AGAIN,
        admission.admit(task("t", "square", NEW_RUN), WorkerState.READY, RUN, SQUARE));
    assertEquals(
        Verdict.REGISTER_AGAIN,
        admission.admit(task("t", "compile", NEW_RUN), WorkerState.REGISTERED, RUN, COMPILE),
        "before it is served");
    assertEquals(
        Verdict.NOT_SERVED,
        admission.admit(task("t", "square", NEW_RUN), WorkerState.UNPREPARED, null, null),
        "an unregistered worker has no run to compare with");
  }

  /**
   * A Ready worker that sees a newer run goes back to Unprepared. The registration entity may still
   * hold the older run's offers (the newer run's registration comes after its compilation): the
   * worker fails them instead of registering, and preparing, for a run that is over.
   */
  @Test
  void anUnpreparedWorkerThatHasSeenANewerRunFailsAnOlderRunsRegistration() {
    assertEquals(
        Verdict.REGISTER_AGAIN,
        admission.admit(task("c", "compile", NEW_RUN), WorkerState.READY, RUN, COMPILE));
    WorkerRegistrationTask reg = WorkerRegistrationTask.INSTANCE;
    assertEquals(
        Verdict.OLDER_RUN,
        admission.admit(
            task("reg:1", WorkerRegistrationTask.NAME, RUN), WorkerState.UNPREPARED, null, reg));
    assertTrue(
        admission
            .olderRunReason(task("reg:1", WorkerRegistrationTask.NAME, RUN))
            .contains("older than run " + NEW_RUN),
        "names the run it has seen");
    assertEquals(
        Verdict.REGISTER,
        admission.admit(
            task("reg:1", WorkerRegistrationTask.NAME, NEW_RUN),
            WorkerState.UNPREPARED,
            null,
            reg));
  }

  @Test
  void aPreparedTypesTaskOfAnOlderRunFailsWhileAnUnpreparedOneStillRuns() {
    assertEquals(
        Verdict.OLDER_RUN,
        admission.admit(task("t", "square", OLD_RUN), WorkerState.READY, RUN, SQUARE));
    assertEquals(
        "task t (type square) belongs to run "
            + OLD_RUN
            + ", older than run "
            + RUN
            + " this worker has seen: that run is over",
        admission.olderRunReason(task("t", "square", OLD_RUN)));
    assertEquals(
        Verdict.START,
        admission.admit(task("t", "compile", OLD_RUN), WorkerState.READY, RUN, COMPILE),
        "compilation needs no keys of a run");
  }

  @Test
  void aCheapTypeRunsInlineWhateverTheSlots() {
    start(square("a"));
    start(square("b"));
    assertEquals(
        Verdict.INLINE, admission.admit(square("c"), WorkerState.READY, RUN, INLINE_SQUARE));
  }

  @Test
  void beyondItsCapacityATaskWaitsAndStartsInArrivalOrderAsSlotsFree() {
    start(square("a"));
    start(square("b"));
    assertEquals(Verdict.WAIT, admission.admit(square("c"), WorkerState.READY, RUN, SQUARE));
    admission.waitForSlot(square("c"), null);
    admission.waitForSlot(square("d"), null);
    assertNull(admission.nextToStart(), "no slot free");
    assertEquals(List.of("a", "b", "c", "d"), admission.held(), "running, then waiting");

    assertEquals("a", admission.finished("a").task.taskId());
    Admission.Waiting next = admission.nextToStart();
    assertEquals("c", next.task().taskId(), "the one that waited longest");
    assertEquals(List.of("b", "d"), admission.held(), "taken out of the waiting line");
    assertNull(admission.finished("a"), "finished once");
  }

  @Test
  void aTaskItHoldsAlreadyIsNotTakenTwice() {
    start(square("a"));
    start(square("b"));
    admission.waitForSlot(square("c"), null);
    assertEquals(
        Verdict.ALREADY_HELD,
        admission.admit(square("a"), WorkerState.READY, RUN, SQUARE),
        "running");
    assertEquals(
        Verdict.ALREADY_HELD,
        admission.admit(square("c"), WorkerState.READY, RUN, SQUARE),
        "waiting");
  }

  @Test
  void anotherTaskUnderAnIdItHoldsIsNotTakenForTheOneItHolds() {
    // task ids start again with each sequencer run: the same id of a newer run is another task,
    // and it tells a registered worker that a newer run began (as any task of that run would)
    start(square("a"));
    admission.waitForSlot(square("c"), null);
    String newer = RUN + "-later";
    assertEquals(
        Verdict.REGISTER_AGAIN,
        admission.admit(task("a", "square", newer), WorkerState.READY, RUN, SQUARE),
        "running, registered for an older run");
    assertEquals(
        Verdict.REGISTER_AGAIN,
        admission.admit(task("c", "square", newer), WorkerState.READY, RUN, SQUARE),
        "waiting, registered for an older run");
    assertEquals(
        Verdict.ID_TAKEN,
        admission.admit(task("a", "square", newer), WorkerState.UNPREPARED, RUN, SQUARE),
        "registering again already");
    assertEquals(
        Verdict.ID_TAKEN,
        admission.admit(task("a", "square", newer), WorkerState.READY, newer, SQUARE),
        "registered for the newer run (the held task is of the older one)");
    assertEquals(
        Verdict.ID_TAKEN,
        admission.admit(
            new TaskEnvelope("a", "other-flow", RUN, "square", 1, Num.of(3)),
            WorkerState.READY,
            RUN,
            SQUARE),
        "another flow");
    assertTrue(
        Admission.idTakenReason(task("a", "square", newer), square("a"))
            .contains("another worker"));
  }

  @Test
  void cancelInterruptsRunningOnceDropsWaitingAndIgnoresTheRest() {
    start(square("a"));
    start(square("b"));
    admission.waitForSlot(square("c"), null);

    Admission.Cancelled cancelled =
        admission.cancel(List.of("a", "c", "unknown"), RUN, "lease overrun");
    assertEquals(List.of("a"), cancelled.interrupted());
    assertEquals(List.of("c"), cancelled.dropped());
    RunningCompute a = admission.running("a");
    assertTrue(a.isCancelled());
    assertEquals("lease overrun", a.cancelReason());
    assertEquals(
        List.of("a", "b"), admission.held(), "a cancelled compute keeps its slot until it returns");

    assertTrue(
        admission.cancel(List.of("a", "c"), RUN, "again").isEmpty(), "nothing new to cancel");
    assertEquals("lease overrun", a.cancelReason(), "the first reason stays");
    assertSame(a, admission.finished("a"));
  }

  @Test
  void aCancelNamingAnotherRunLeavesTheTasksHeldUnderItsIdsAlone() {
    start(square("a"));
    admission.waitForSlot(square("b"), null);
    String older = "r0000000000000-00000000";

    assertTrue(admission.cancel(List.of("a", "b"), older, "run over").isEmpty());
    assertFalse(admission.running("a").isCancelled());
    assertEquals(List.of("a", "b"), admission.held());

    Admission.Cancelled any = admission.cancel(List.of("a", "b"), null, "older build");
    assertEquals(List.of("a"), any.interrupted(), "no run named: whatever is held under the id");
    assertEquals(List.of("b"), any.dropped());
  }

  @Test
  void aWorkerWithoutSlotsIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Admission(0));
  }
}
