package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks.Num;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a queue sends workers at the end of one message: one message per worker and kind, in the
 * order decided.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerOutboxTest {

  private final ActorTestKit testKit = ActorTestKit.create("WorkerOutboxTest", TestConfig.config());
  private final TestProbe<QueueCommand> queue = testKit.createTestProbe(QueueCommand.class);
  private final WorkerOutbox outbox = new WorkerOutbox(queue.getRef());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private static TaskEnvelope task(String id) {
    return new TaskEnvelope(id, "f1", "run-1", "square", 1, Num.of(2));
  }

  @Test
  void oneTaskGoesAloneAndNothingIsSentTwice() {
    TestProbe<WorkerCommand> worker = testKit.createTestProbe(WorkerCommand.class);
    outbox.flush(); // nothing gathered: nothing sent
    outbox.dispatch(worker.getRef(), task("t1"));
    outbox.flush();
    assertEquals(new WorkerCommand.Dispatch(task("t1"), queue.getRef()), worker.receiveMessage());
    outbox.flush();
    QueueSync.expectNothingQueued(worker, QueueSync.WORKER_MARKER); // the second flush sent nothing
  }

  @Test
  void aWorkersTasksTravelTogetherInTheOrderDecided() {
    TestProbe<WorkerCommand> a = testKit.createTestProbe(WorkerCommand.class);
    TestProbe<WorkerCommand> b = testKit.createTestProbe(WorkerCommand.class);
    outbox.dispatch(a.getRef(), task("t1"));
    outbox.dispatch(b.getRef(), task("t2"));
    outbox.dispatch(a.getRef(), task("t3"));
    outbox.flush();
    assertEquals(
        new WorkerCommand.DispatchAll(List.of(task("t1"), task("t3")), queue.getRef()),
        a.receiveMessage());
    assertEquals(new WorkerCommand.Dispatch(task("t2"), queue.getRef()), b.receiveMessage());
  }

  @Test
  void cancellationsGoFirstOnePerWorkerWithTheFirstReason() {
    TestProbe<WorkerCommand> a = testKit.createTestProbe(WorkerCommand.class);
    TestProbe<WorkerCommand> b = testKit.createTestProbe(WorkerCommand.class);
    outbox.dispatch(a.getRef(), task("t9"));
    outbox.cancel(a.getRef(), "t1", "run-1", "lease of 500 ms ran out");
    outbox.cancel(b.getRef(), "t2", "run-1", "another worker finished it first");
    outbox.cancel(a.getRef(), "t3", "run-1", "another worker finished it first");
    outbox.flush();
    assertEquals(
        new WorkerCommand.Cancel(List.of("t1", "t3"), "run-1", "lease of 500 ms ran out"),
        a.receiveMessage());
    assertEquals(new WorkerCommand.Dispatch(task("t9"), queue.getRef()), a.receiveMessage());
    assertEquals(
        new WorkerCommand.Cancel(List.of("t2"), "run-1", "lease of 500 ms ran out"),
        b.receiveMessage());

    outbox.cancel(b.getRef(), "t4", "run-1", "flow f1 is over"); // a new message, a new reason
    outbox.flush();
    assertEquals(
        new WorkerCommand.Cancel(List.of("t4"), "run-1", "flow f1 is over"), b.receiveMessage());
  }

  @Test
  void aWorkerGetsOneCancellationPerRunItsTasksBelongTo() {
    // task ids start again with each run: a cancel names the run of its tasks, so that a worker
    // holding another run's task under the same id lets it go on
    TestProbe<WorkerCommand> a = testKit.createTestProbe(WorkerCommand.class);
    String over = "run run-1 is over: run run-2 took over";
    outbox.cancel(a.getRef(), "f:1", "run-1", over);
    outbox.cancel(a.getRef(), "f:2", "run-2", over);
    outbox.cancel(a.getRef(), "f:3", "run-1", over);
    outbox.flush();
    assertEquals(
        new WorkerCommand.Cancel(List.of("f:1", "f:3"), "run-1", over), a.receiveMessage());
    assertEquals(new WorkerCommand.Cancel(List.of("f:2"), "run-2", over), a.receiveMessage());
    QueueSync.expectNothingQueued(a, QueueSync.WORKER_MARKER);
  }
}
