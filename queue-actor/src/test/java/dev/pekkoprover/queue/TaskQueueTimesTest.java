package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.queue.TaskQueueState.Redelivery;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What the queue measures for metrics and the fleet view, on a manual clock: each completed task's
 * wait (since it last became pending) and run (dispatch to result), reported once through {@link
 * TaskQueueState.Effects#completed}; run-time totals per type; put-backs by cause; and per worker
 * what it did and when it was last heard from.
 */
class TaskQueueTimesTest {

  private static final long MS = 1_000_000L;

  record Timed(String type, long waitNanos, long runNanos) {}

  private final List<Timed> timed = new ArrayList<>();
  private final List<String> dispatched = new ArrayList<>();
  private long now;
  private int clockReads;

  private final TaskQueueState<String, String> queue =
      new TaskQueueState<>(
          TaskCatalog.of(TestTasks.all()),
          new QueueSettings(
              Duration.ofSeconds(10),
              Map.of(),
              Duration.ofSeconds(1),
              3,
              4,
              Duration.ofSeconds(3),
              Duration.ofMillis(100),
              Duration.ofSeconds(1),
              0.2,
              0),
          new TaskQueueState.Effects<>() {
            @Override
            public void dispatch(String worker, TaskEnvelope task) {
              dispatched.add(worker + " " + task.taskId());
            }

            @Override
            public void reply(String replyTo, TaskOutcome outcome) {}

            @Override
            public void retryLater(
                TaskEnvelope task, String workerId, int failures, String reason) {}

            @Override
            public void putBack(
                TaskEnvelope task, String workerId, Redelivery cause, String budget) {}

            @Override
            public void cancel(String worker, String taskId, String runId, String reason) {}

            @Override
            public void completed(String taskType, long waitNanos, long runNanos) {
              timed.add(new Timed(taskType, waitNanos, runNanos));
            }
          },
          () -> {
            clockReads++;
            return now;
          });

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "flow-1", "run-1", "square", 1, Num.of(3));
  }

  @Test
  void eachCompletedTaskReportsItsWaitAndRunOnce() {
    queue.enqueue(square("t1"), "flow");
    queue.enqueue(square("t2"), "flow");
    now = 40 * MS;
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 1); // t1 dispatched after 40 ms
    now = 100 * MS;
    assertTrue(
        queue.succeeded(
            "w1", "i1", "t1", "run-1", 1, Num.of(9))); // ran 60 ms; t2 dispatched after 100 ms
    now = 130 * MS;
    assertTrue(queue.succeeded("w1", "i1", "t2", "run-1", 1, Num.of(9))); // ran 30 ms
    assertEquals(
        List.of(new Timed("square", 40 * MS, 60 * MS), new Timed("square", 100 * MS, 30 * MS)),
        timed);
    TaskQueueState.TypeTimes times = queue.typeTimes("square");
    assertEquals(2, times.runs());
    assertEquals(90 * MS, times.runNanos());
    assertEquals(
        140 * MS, times.waitNanos(), "the waits of the tasks whose runs were measured, added up");

    // a duplicate, late result is neither timed nor counted again
    assertFalse(queue.succeeded("w1", "i1", "t2", "run-1", 1, Num.of(9)));
    assertEquals(2, timed.size());
  }

  @Test
  void aTaskThatWaitedOnItsWorkerForASlotCountsThatAsWaitingNotRunning() {
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 1);
    now = 10 * MS;
    queue.enqueue(square("t1"), "flow"); // dispatched at once
    now = 30 * MS; // another entity's task holds the worker's slot: t1 waits there
    queue.workerLoad("w1", "i1", List.of("other:1", "t1"), List.of("t1"));
    now = 70 * MS; // started
    queue.workerLoad("w1", "i1", List.of("t1"), List.of());
    now = 95 * MS;
    assertTrue(queue.succeeded("w1", "i1", "t1", "run-1", 1, Num.of(9)));
    assertEquals(List.of(new Timed("square", 60 * MS, 25 * MS)), timed);
  }

  @Test
  void theHotPathReadsTheClockOncePerCallAndATaskDispatchedAtOnceWaitedNothing() {
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 1);
    now = 10 * MS;
    clockReads = 0;
    queue.enqueue(square("t1"), "flow"); // a free slot: dispatched within its enqueue
    assertEquals(1, clockReads, "the dispatch's reading only");
    queue.enqueue(square("t2"), "flow"); // waits
    assertEquals(2, clockReads);
    now = 25 * MS;
    clockReads = 0;
    assertTrue(
        queue.succeeded("w1", "i1", "t1", "run-1", 1, Num.of(9))); // t2 goes into the freed slot
    assertEquals(1, clockReads, "one reading for the result and the dispatch it frees");
    assertEquals(List.of(new Timed("square", 0, 15 * MS)), timed);
    now = 26 * MS;
    assertTrue(queue.succeeded("w1", "i1", "t2", "run-1", 1, Num.of(9)));
    assertEquals(new Timed("square", 15 * MS, MS), timed.get(1));
  }

  @Test
  void theTasksOfOneEnqueueMessageShareOneClockReadingForTheirDispatchesAndWaits() {
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 2);
    now = 10 * MS;
    clockReads = 0;
    queue.enqueueAll(List.of(square("t1"), square("t2"), square("t3"), square("t4")), "flow");
    assertEquals(1, clockReads, "one reading for four enqueues, two dispatches and two waits");
    assertEquals(List.of("w1 t1", "w1 t2"), dispatched);
    now = 30 * MS;
    assertTrue(
        queue.succeeded(
            "w1", "i1", "t1", "run-1", 1, Num.of(9))); // t3 dispatched now: waited 20 ms
    assertTrue(queue.succeeded("w1", "i1", "t3", "run-1", 1, Num.of(9)));
    assertEquals(List.of(new Timed("square", 0, 20 * MS), new Timed("square", 20 * MS, 0)), timed);
  }

  @Test
  void withoutWaitMeasurementAWaitingTaskCostsNoClockReading() {
    int[] reads = {0};
    TaskQueueState<String, String> untimed =
        new TaskQueueState<>(
            TaskCatalog.of(TestTasks.all()),
            new QueueSettings(
                Duration.ofSeconds(10),
                Map.of(),
                Duration.ofSeconds(1),
                3,
                4,
                Duration.ofSeconds(3),
                Duration.ofMillis(100),
                Duration.ofSeconds(1),
                0.2,
                0),
            new NoEffects<>(),
            () -> {
              reads[0]++;
              return now;
            },
            false);
    untimed.enqueue(square("t1"), "flow");
    assertEquals(0, reads[0]);
    assertEquals(
        0,
        untimed.typeTimes("square").oldestPendingNanos(),
        "unknown, not a wrapped-around figure");
  }

  @Test
  void aTaskPutBackWaitsFromItsPutBackAndTheLostRunIsNotTimed() {
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 1);
    queue.enqueue(square("t1"), "flow");
    now = 500 * MS;
    queue.workerTerminated("w1"); // put back at 500 ms
    assertEquals(1, queue.putBack("square", Redelivery.WORKER_TERMINATED));
    assertEquals(0, queue.putBack("square", Redelivery.LEASE_OVERRUN));
    now = 700 * MS;
    assertEquals(200 * MS, queue.typeTimes("square").oldestPendingNanos());
    queue.workerServes(
        "w2", "i1", "w2", Set.of("square"), 1); // dispatched 200 ms after the put-back
    now = 750 * MS;
    assertTrue(queue.succeeded("w2", "i1", "t1", "run-1", 2, Num.of(9)));
    assertEquals(List.of(new Timed("square", 200 * MS, 50 * MS)), timed);
    assertEquals(0, queue.typeTimes("square").oldestPendingNanos());
  }

  @Test
  void theOldestWaitIsFoundBehindTheTasksOfOlderFlows() {
    // flow 3's task came first; then more of flow 1's than the scan looks at: in hand-out order
    // flow 3's task is last, but it has waited longest
    queue.enqueue(new TaskEnvelope("late", "flow-3", "run-1", "square", 1, Num.of(3), 3), "f3");
    now = 100 * MS;
    for (int i = 0; i < TaskQueueState.OLDEST_SCAN + 10; i++) {
      queue.enqueue(
          new TaskEnvelope("early-" + i, "flow-1", "run-1", "square", 1, Num.of(3), 1), "f1");
    }
    now = 400 * MS;
    assertEquals(400 * MS, queue.typeTimes("square").oldestPendingNanos());
  }

  @Test
  void theOldestWaitIsFoundInTheNewestOfMoreFlowsThanTheScanLooksAtTasks() {
    // the newest flow's task came first and waits behind more older flows than OLDEST_SCAN
    queue.enqueue(
        new TaskEnvelope("newest", "flow-n", "run-1", "square", 1, Num.of(3), 99_999), "n");
    now = 100 * MS;
    for (int i = 1; i <= TaskQueueState.OLDEST_SCAN + 200; i++) {
      queue.enqueue(
          new TaskEnvelope("t" + i, "flow-" + i, "run-1", "square", 1, Num.of(3), i), "f");
    }
    now = 400 * MS;
    assertEquals(400 * MS, queue.typeTimes("square").oldestPendingNanos());
  }

  @Test
  void aWorkersNumbersSayWhatItDidAndWhenItWasLastHeardFrom() {
    assertNull(queue.workerNumbers("w1"));
    queue.workerServes("w1", "i1", "w1", Set.of("square"), 2);
    queue.enqueue(square("t1"), "flow");
    queue.enqueue(square("t2"), "flow");
    queue.enqueue(square("t3"), "flow");
    now = 1000 * MS;
    assertEquals(
        new TaskQueueState.WorkerNumbers(2, 0, 0, 0, 1000 * MS, true), queue.workerNumbers("w1"));
    assertTrue(queue.succeeded("w1", "i1", "t1", "run-1", 1, Num.of(9)));
    assertTrue(queue.failed("w1", "i1", "t2", "run-1", 1, "boom", true));
    now = 1300 * MS;
    assertEquals(
        new TaskQueueState.WorkerNumbers(1, 1, 1, 0, 300 * MS, true), queue.workerNumbers("w1"));

    // a new incarnation is a restart; its old tasks went back; a periodic announcement is not
    queue.workerServes("w1", "i2", "w1", Set.of("square"), 2);
    queue.workerServes("w1", "i2", "w1", Set.of("square"), 2);
    assertEquals(1, queue.workerNumbers("w1").restarts());
    queue.workerUnreachable("w1");
    assertFalse(queue.workerNumbers("w1").reachable());
    now = 2000 * MS;
    queue.workerLoad("w1", "i2", List.of());
    assertEquals(0, queue.workerNumbers("w1").lastHeardNanosAgo());
  }
}
