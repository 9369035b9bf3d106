package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskIds;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The re-send rules on a made-up clock: when a queued task is asked about (resend-after, then
 * backing off to a cap), how the questions are bounded, what a "missing" answer and a lost queue
 * node re-send, and the loss window.
 */
class PendingTasksTest {
  private static final Duration RESEND_AFTER = Duration.ofSeconds(10);
  private static final Duration LOSS_INTERVAL = Duration.ofSeconds(1);
  private static final Duration LOSS_WINDOW = Duration.ofSeconds(15);

  /** The clock, in nanoseconds; starts far from zero, as System.nanoTime may. */
  private long now = -5_000_000_000L;

  private static SequencerSettings settings(
      Duration resendAfter, int idsPerMessage, int idsPerTick) {
    return new SequencerSettings(
        resendAfter,
        8,
        idsPerMessage,
        idsPerTick,
        Duration.ofMillis(50),
        LOSS_INTERVAL,
        LOSS_WINDOW,
        Duration.ofSeconds(10),
        Duration.ofSeconds(1),
        4,
        Duration.ofSeconds(5),
        10,
        Duration.ofSeconds(2),
        Duration.ofSeconds(5));
  }

  private PendingTasks tasks(Duration resendAfter, int idsPerMessage, int idsPerTick) {
    return new PendingTasks("f", settings(resendAfter, idsPerMessage, idsPerTick), () -> now);
  }

  private static PendingTask push(PendingTasks tasks, TaskType<?, ?> type) {
    PendingTask task = new PendingTask(type, result -> {});
    long n = tasks.add(task);
    task.envelope = new TaskEnvelope(TaskIds.of("f", n), "f", "run", type.name(), 1, null);
    return task;
  }

  private void advance(Duration by) {
    now += by.toNanos();
  }

  private static List<String> askedIds(PendingTasks.Overdue overdue) {
    List<String> ids = new ArrayList<>();
    overdue.checks().forEach(check -> ids.addAll(check.taskIds()));
    return ids;
  }

  @Test
  void aTaskPushedWithinTheLossWindowIsAskedAboutAtTheLossChecksNotAfterResendAfter() {
    PendingTasks tasks = tasks(RESEND_AFTER, 1000, 100_000);
    push(tasks, TestTasks.Square.INSTANCE);
    assertEquals(1, tasks.resendAllQueued(new ArrayList<>()));
    tasks.startLossChecks();
    assertEquals(List.of("f:1"), askedIds(tasks.overdue()), "the re-sent task, at the first check");
    advance(Duration.ofMillis(300));
    PendingTask late = push(tasks, TestTasks.Square.INSTANCE);
    advance(LOSS_INTERVAL.minusMillis(300));
    assertEquals(List.of("f:1"), askedIds(tasks.overdue()), "the next check: not yet");
    advance(LOSS_INTERVAL);
    assertEquals(
        List.of("f:1", late.envelope.taskId()),
        askedIds(tasks.overdue()),
        "a task pushed after the removal's re-send may have gone to the removed node's region too:"
            + " asked about at the check but one, not after resend-after");
    advance(LOSS_WINDOW);
    PendingTask calm = push(tasks, TestTasks.Square.INSTANCE);
    advance(LOSS_INTERVAL.multipliedBy(2));
    assertFalse(
        askedIds(tasks.overdue()).contains(calm.envelope.taskId()),
        "after the window, a push waits resend-after again");
  }

  @Test
  void aLossWithinAnIntervalOfTheLastReSendOfAllReSendsNothingButMakesEveryQueuedTaskDueNow() {
    PendingTasks tasks = tasks(RESEND_AFTER, 1000, 100_000);
    push(tasks, TestTasks.Square.INSTANCE);
    assertEquals(-1, tasks.sinceResentAllWithinCheckInterval(), "no re-send of all yet");
    List<TaskEnvelope> outbox = new ArrayList<>();
    assertEquals(1, tasks.resendAllQueued(outbox));
    tasks.startLossChecks();
    advance(Duration.ofMillis(13));
    PendingTask pushedBetween = push(tasks, TestTasks.Square.INSTANCE);
    assertEquals(Duration.ofMillis(13).toNanos(), tasks.sinceResentAllWithinCheckInterval());
    assertEquals(2, tasks.checkAllQueuedNow());
    assertEquals(
        List.of("f:1", pushedBetween.envelope.taskId()),
        askedIds(tasks.overdue()),
        "the task pushed after the re-send is asked about at the next check, not after"
            + " resend-after");
    advance(LOSS_INTERVAL);
    assertEquals(-1, tasks.sinceResentAllWithinCheckInterval(), "an interval later: a loss again");
    PendingTasks unchecked = tasks(Duration.ZERO, 1000, 100_000);
    push(unchecked, TestTasks.Square.INSTANCE);
    assertEquals(1, unchecked.resendAllQueued(new ArrayList<>()));
    assertEquals(
        -1, unchecked.sinceResentAllWithinCheckInterval(), "checks off: every loss re-sends all");
  }

  @Test
  void aQueuedTaskIsAskedAboutAfterResendAfterThenBackingOffToEightTimes() {
    PendingTasks tasks = tasks(RESEND_AFTER, 1000, 100_000);
    push(tasks, TestTasks.Square.INSTANCE);
    advance(RESEND_AFTER.minusNanos(1));
    assertEquals(0, tasks.overdue().asked(), "not yet due");
    List<Long> waits = new ArrayList<>();
    advance(Duration.ofNanos(1));
    long last = now;
    assertEquals(List.of("f:1"), askedIds(tasks.overdue()));
    for (int check = 0; check < 4; check++) {
      while (tasks.overdue().asked() == 0) {
        advance(Duration.ofSeconds(1));
      }
      waits.add((now - last) / 1_000_000_000L);
      last = now;
    }
    assertEquals(List.of(20L, 40L, 80L, 80L), waits, "2x, 4x, 8x resend-after, then at most 8x");
  }

  @Test
  void questionsCarryAtMostTheirIdsPerMessageAndATickAsksAboutAtMostItsBound() {
    PendingTasks tasks = tasks(RESEND_AFTER, 2, 3);
    for (int i = 0; i < 4; i++) {
      push(tasks, TestTasks.Square.INSTANCE);
    }
    push(tasks, TestTasks.Add.INSTANCE);
    advance(RESEND_AFTER);
    PendingTasks.Overdue first = tasks.overdue();
    assertEquals(
        List.of(
            new PendingTasks.Check("square", List.of("f:1", "f:2")),
            new PendingTasks.Check("square", List.of("f:3"))),
        first.checks(),
        "by type, at most 2 ids each, 3 a tick");
    assertFalse(first.afterLoss());
    PendingTasks.Overdue second = tasks.overdue();
    assertEquals(
        List.of(
            new PendingTasks.Check("square", List.of("f:4")),
            new PendingTasks.Check("add", List.of("f:5"))),
        second.checks(),
        "the rest stay due for the next tick");
    assertEquals(0, tasks.overdue().asked());
  }

  @Test
  void aMissingAnswerReSendsOnlyTasksAskedAboutStillQueuedAndOnce() {
    PendingTasks tasks = tasks(RESEND_AFTER, 1000, 100_000);
    PendingTask asked = push(tasks, TestTasks.Square.INSTANCE);
    advance(RESEND_AFTER);
    tasks.overdue();
    PendingTask notAsked = push(tasks, TestTasks.Square.INSTANCE);
    List<TaskEnvelope> outbox = new ArrayList<>();

    int count = tasks.resendMissing(List.of("f:1", "f:2", "other:1", "f:99"), outbox);
    assertEquals(1, count);
    assertEquals(
        List.of(asked.envelope),
        outbox,
        "f:2 was never asked about; the others are not this flow's");
    assertEquals(0, tasks.resendMissing(List.of("f:1"), outbox), "a repeated answer re-sends once");
    assertEquals(1, tasks.resent());
    assertEquals("1 task(s) the queue no longer held: f:1", tasks.takeMissingReport());
    assertNull(tasks.takeMissingReport(), "reported once");

    advance(RESEND_AFTER.minusNanos(1));
    assertEquals(
        List.of(),
        askedIds(tasks.overdue()),
        "a re-sent task starts over: not due before resend-after");
    advance(Duration.ofNanos(1));
    assertEquals(List.of("f:1", "f:2"), askedIds(tasks.overdue()));
    assertSame(notAsked, tasks.get("f:2"));
  }

  @Test
  void aLostQueueNodeReSendsEveryQueuedTaskAndTheyAreAskedAboutEverySecondForTheWindow() {
    PendingTasks tasks = tasks(RESEND_AFTER, 1000, 100_000);
    PendingTask queued = push(tasks, TestTasks.Square.INSTANCE);
    PendingTask waiting = push(tasks, TestTasks.Square.INSTANCE);
    waiting.stage = PendingTask.WAITING; // on another flow's claim: not in the queue
    List<TaskEnvelope> outbox = new ArrayList<>();

    assertEquals(1, tasks.resendAllQueued(outbox));
    assertEquals(List.of(queued.envelope), outbox);
    assertTrue(tasks.startLossChecks(), "the first loss schedules a check");
    assertFalse(tasks.startLossChecks(), "a second loss within the window: already scheduled");

    PendingTasks.Overdue atOnce = tasks.overdue();
    assertEquals(List.of("f:1"), askedIds(atOnce), "due at once after the loss");
    assertTrue(atOnce.afterLoss());
    advance(LOSS_INTERVAL);
    assertEquals(
        List.of("f:1"), askedIds(tasks.overdue()), "again a second later, not after resend-after");
    assertEquals(1, tasks.resendMissing(List.of("f:1"), outbox));
    advance(LOSS_INTERVAL);
    assertEquals(
        List.of("f:1"),
        askedIds(tasks.overdue()),
        "a re-send within the window is asked about soon too");

    advance(LOSS_WINDOW);
    PendingTasks.Overdue after = tasks.overdue();
    assertFalse(after.afterLoss(), "the window has closed");
    assertEquals(List.of("f:1"), askedIds(after));
    advance(RESEND_AFTER.multipliedBy(2).minusNanos(1));
    assertEquals(0, tasks.overdue().asked(), "back to the backoff");
    assertEquals(2, tasks.resent());
  }

  @Test
  void withResendAfterZeroNothingIsEverAskedAbout() {
    PendingTasks tasks = tasks(Duration.ZERO, 1000, 100_000);
    push(tasks, TestTasks.Square.INSTANCE);
    advance(Duration.ofDays(365));
    assertEquals(0, tasks.overdue().asked());
    assertEquals(1, tasks.resendAllQueued(new ArrayList<>()), "a lost queue node still re-sends");
    assertFalse(tasks.startLossChecks(), "but schedules no checks");
    advance(Duration.ofDays(365));
    assertEquals(0, tasks.overdue().asked());
  }
}
