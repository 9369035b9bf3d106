package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.queue.TaskQueueState.Redelivery;
import dev.pekkoprover.queue.TaskQueueStateTest.PutBack;
import dev.pekkoprover.queue.TaskQueueStateTest.Recorder;
import dev.pekkoprover.queue.TaskQueueStateTest.Sent;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Prefetch ({@code prover.queue.inline-prefetch}): an inline type's tasks go to a worker beyond its
 * free slots, other types' never; prefetched tasks are put back like any other when their worker
 * goes away; on a worker serving both kinds, proofs stay within its slots and keep their turn.
 */
class TaskQueuePrefetchTest {

  private static final int PREFETCH = 3;
  private static final Duration LOST_AFTER = Duration.ofSeconds(3);
  private static final String RUN = "r0000000000001-00000000";

  /** A type that runs on the worker actor's thread: the kind prefetch is for. */
  static final class Cheap extends NamedTaskType<Long, Long> {
    Cheap() {
      super("cheap", Long.class, Long.class);
    }

    @Override
    public boolean runsInline() {
      return true;
    }

    @Override
    public Long compute(Long input, TaskContext context) {
      return input;
    }
  }

  private final Recorder effects = new Recorder();
  private final TaskQueueState<String, String> queue =
      new TaskQueueState<>(
          TaskCatalog.of(new Cheap(), new TestTasks.Square(), new TestTasks.Add()),
          new QueueSettings(
              Duration.ofSeconds(10),
              Map.of(),
              Duration.ofSeconds(1),
              3,
              4,
              LOST_AFTER,
              Duration.ofMillis(100),
              Duration.ofSeconds(1),
              0.2,
              PREFETCH),
          effects,
          () -> effects.now);

  private static TaskEnvelope cheap(String id) {
    return new TaskEnvelope(id, "flow-1", RUN, "cheap", 1, 1L);
  }

  private static TaskEnvelope square(String id) {
    return new TaskEnvelope(id, "flow-1", RUN, "square", 1, Num.of(3));
  }

  private void serve(String worker, int capacity, String... types) {
    queue.workerServes(worker, "inc-1", worker, Set.of(types), capacity);
  }

  private void enqueueCheap(String prefix, int count) {
    for (int i = 1; i <= count; i++) {
      queue.enqueue(cheap(prefix + i), "flow-1");
    }
  }

  private void enqueueSquares(String prefix, int count) {
    for (int i = 1; i <= count; i++) {
      queue.enqueue(square(prefix + i), "flow-1");
    }
  }

  private static List<String> ids(String prefix, int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> prefix + i).toList();
  }

  @Test
  void anInlineTypeGetsTheFreeSlotsPlusThePrefetchInFlight() {
    serve("w1", 2, "cheap");
    enqueueCheap("c", 10);
    assertEquals(ids("c", 1, 5), effects.sentIds(), "2 slots + 3 prefetched");
    assertEquals(5, queue.slotsTaken("w1"));
    assertEquals(0, queue.freeSlots("w1"));
    assertEquals(5, queue.stats().of("cheap").inFlight());

    // every result makes room for one more, in order
    assertTrue(queue.succeeded("w1", "inc-1", "c1", RUN, 1, 1L));
    assertEquals(ids("c", 1, 6), effects.sentIds());
    assertTrue(queue.succeeded("w1", "inc-1", "c3", RUN, 1, 1L));
    assertTrue(queue.succeeded("w1", "inc-1", "c2", RUN, 1, 1L));
    assertEquals(ids("c", 1, 8), effects.sentIds());
    assertEquals(5, queue.slotsTaken("w1"));
  }

  @Test
  void theRoomGoesToTheWorkerWithTheMostOfItFreeSlotsFirst() {
    serve("w1", 2, "cheap");
    enqueueCheap("c", 4); // w1: 2 slots + 2 of its prefetch
    serve("w2", 2, "cheap");
    enqueueCheap("d", 4);
    // w2 has 5 of room, w1 1: w2 takes tasks until they are level, then in turn
    assertEquals(List.of("d1", "d2", "d3", "d4"), effects.sentTo("w2"));
    assertEquals(List.of("c1", "c2", "c3", "c4"), effects.sentTo("w1"));
    enqueueCheap("e", 3);
    assertEquals(5, queue.slotsTaken("w1"));
    assertEquals(5, queue.slotsTaken("w2"));
    assertEquals(1, queue.stats().of("cheap").pending());
  }

  @Test
  void aTypeThatIsNotInlineGetsOnlyTheFreeSlots() {
    serve("w1", 2, "square");
    enqueueSquares("s", 6);
    assertEquals(ids("s", 1, 2), effects.sentIds());
    assertEquals(4, queue.stats().of("square").pending());
    assertTrue(queue.succeeded("w1", "inc-1", "s1", RUN, 1, Num.of(9)));
    assertEquals(ids("s", 1, 3), effects.sentIds(), "one freed slot, one task");
    assertEquals(2, queue.slotsTaken("w1"));
  }

  @Test
  void registrationIsNeverPrefetchedThoughItRunsInline() {
    queue.workerServes(
        "w1",
        "inc-1",
        "w1",
        Set.of(WorkerRegistrationTask.NAME),
        1,
        dev.pekkoprover.protocol.WorkerState.UNPREPARED);
    for (int i = 1; i <= 3; i++) {
      queue.enqueue(
          new TaskEnvelope("reg:" + i, "reg", RUN, WorkerRegistrationTask.NAME, 1, "keys"), "reg");
    }
    assertEquals(List.of("reg:1"), effects.sentIds());
  }

  @Test
  void aLostWorkersPrefetchedTasksAreRedelivered() {
    serve("w1", 1, "cheap");
    enqueueCheap("c", 6);
    assertEquals(ids("c", 1, 4), effects.sentTo("w1"));

    assertEquals(List.of("w1"), queue.workerTerminated("w1"));
    assertEquals(
        Set.of("c1", "c2", "c3", "c4"),
        effects.putBacks.stream().map(PutBack::taskId).collect(Collectors.toSet()));
    assertTrue(effects.putBacks.stream().allMatch(p -> p.cause() == Redelivery.WORKER_TERMINATED));
    assertEquals(6, queue.stats().of("cheap").pending());

    serve("w2", 1, "cheap");
    assertEquals(
        List.of(
            new Sent("w2", cheap("c1").withAttempt(2)),
            new Sent("w2", cheap("c2").withAttempt(2)),
            new Sent("w2", cheap("c3").withAttempt(2)),
            new Sent("w2", cheap("c4").withAttempt(2))),
        effects.sent.subList(4, 8),
        "the put-back tasks first, oldest first, again up to slots + prefetch");
  }

  @Test
  void prefetchedTasksOnAnUnreachableOrCrashedWorkerGoBackAtOnce() {
    serve("w1", 1, "cheap");
    enqueueCheap("c", 4);
    assertEquals(4, queue.workerUnreachable("w1"));
    assertEquals(4, effects.cancels.size(), "the worker is told to drop every one");
    assertEquals(4, queue.stats().of("cheap").pending());
    enqueueCheap("d", 1);
    assertEquals(4, effects.sent.size(), "no work, not even prefetched, while unreachable");
    queue.workerReachable("w1");
    assertEquals(8, effects.sent.size());

    assertEquals(4, queue.workerGoingDown("w1", "inc-1", Set.of("c1")));
    assertEquals(8, effects.sent.size(), "a worker going down gets nothing");
    assertEquals(5, queue.stats().of("cheap").pending() + queue.stats().of("cheap").inFlight());
  }

  @Test
  void prefetchedTasksMissingFromTheLoadReportsAreFoundLostInTransit() {
    serve("w1", 1, "cheap");
    enqueueCheap("c", 4);
    queue.workerLoad("w1", "inc-1", List.of());
    effects.now += LOST_AFTER.toNanos();
    queue.workerLoad("w1", "inc-1", List.of());
    assertEquals(4, effects.putBacks.size());
    assertTrue(effects.putBacks.stream().allMatch(p -> p.cause() == Redelivery.LOST_IN_TRANSIT));
    assertEquals(8, effects.sent.size(), "sent again");
  }

  @Test
  void aPrefetchedTasksLeaseRunsFromItsDispatchAsAnyOther() {
    serve("w1", 1, "cheap");
    enqueueCheap("c", 4);
    effects.now += Duration.ofSeconds(10).toNanos() - 1;
    assertEquals(0, queue.expireLeases());
    effects.now += 1;
    assertEquals(4, queue.expireLeases());
  }

  @Test
  void onAWorkerServingBothKindsProofsStayWithinItsSlotsAndKeepTheirTurn() {
    serve("w1", 2, "cheap", "square");
    enqueueCheap("c", 6);
    assertEquals(ids("c", 1, 5), effects.sentIds(), "no proof waits: slots + prefetch");
    enqueueSquares("s", 2);
    enqueueCheap("d", 2);
    assertEquals(5, effects.sent.size(), "no slot for a proof, and no prefetch while one waits");

    List<String> inFlight = new ArrayList<>(ids("c", 1, 5));
    int seen = 5;
    int completed = 0;
    // finish the oldest task in flight until everything ran; a proof must find the worker under
    // its capacity of 2 when it is sent
    while (!inFlight.isEmpty()) {
      String next = inFlight.remove(0);
      Object result = next.startsWith("s") ? Num.of(9) : (Object) 1L;
      assertTrue(queue.succeeded("w1", "inc-1", next, RUN, 1, result));
      completed++;
      for (; seen < effects.sent.size(); seen++) {
        String sent = effects.sent.get(seen).task().taskId();
        if (sent.startsWith("s")) {
          assertTrue(inFlight.size() < 2, sent + " sent while " + inFlight + " in flight");
        }
        inFlight.add(sent);
      }
    }
    // the order: c6 (older than the proofs) in the first freed slot, then the proofs, oldest first,
    // before d1 and d2, which were enqueued after them
    assertEquals(List.of("c6", "s1", "s2", "d1", "d2"), effects.sentIds().subList(5, 10));
    assertEquals(10, completed);
  }

  @Test
  void aProofGetsASlotOnlyWhenTheWorkerIsBackUnderItsCapacity() {
    serve("w1", 2, "cheap", "square");
    enqueueCheap("c", 5); // 2 slots + 3 prefetched
    enqueueSquares("s", 1);
    assertEquals(5, effects.sent.size());
    for (int i = 1; i <= 3; i++) {
      assertTrue(queue.succeeded("w1", "inc-1", "c" + i, RUN, 1, 1L));
      assertEquals(5, effects.sent.size(), "still at or above capacity after c" + i);
    }
    assertTrue(queue.succeeded("w1", "inc-1", "c4", RUN, 1, 1L));
    assertEquals(new Sent("w1", square("s1")), effects.last());
    assertEquals(2, queue.slotsTaken("w1"));
  }
}
