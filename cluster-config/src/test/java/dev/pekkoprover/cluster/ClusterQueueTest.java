package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Text;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 4, items 5 and 6: a burst of 100,000 tasks from the sequencer node to a worker on another
 * node, and bad input across nodes (a message of a class not bound to Jackson; payloads near and
 * over the size limit).
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterQueueTest {
  private ClusterNodes cluster;
  private ProverNode sequencer;
  private ProverNode worker;

  @BeforeAll
  void start() {
    TestTasks.reset();
    List<TaskType<?, ?>> types = new ArrayList<>(TestTasks.all());
    types.add(TestTasks.Echo.INSTANCE);
    types.add(TestTasks.Negate.INSTANCE);
    TaskCatalog catalog = TaskCatalog.of(types);
    cluster = new ClusterNodes();
    sequencer =
        cluster.start(
            "A", "sequencer,queue", "", b -> b.catalog(catalog).sequencer(TestNodes.compilePlan()));
    worker =
        cluster.start(
            "B", "worker", "", b -> b.catalog(catalog).workers(WorkerGroup.allTypes(1, 32)));
    TestNodes.await(sequencer.ready());
    TestNodes.await(worker.ready());
  }

  @AfterAll
  void stop() {
    cluster.close();
  }

  /**
   * Pushes every task at start (one Enqueue) and completes with the set of leaves whose square came
   * back right.
   */
  private record Burst(int tasks) implements FlowLogic<Num> {
    @Override
    public void start(dev.pekkoprover.protocol.flow.FlowScope<Num> scope) {
      BitSet done = new BitSet(tasks);
      int[] remaining = {tasks};
      for (int i = 0; i < tasks; i++) {
        int leaf = i;
        scope.push(
            TestTasks.Square.INSTANCE,
            Num.of(leaf),
            (Num square) -> {
              if (square.value() != (long) leaf * leaf) {
                scope.fail("leaf " + leaf + " came back as " + square.value());
              } else if (done.get(leaf)) {
                scope.fail("leaf " + leaf + " accepted twice");
              }
              done.set(leaf);
              if (--remaining[0] == 0) {
                scope.complete(Num.of(done.cardinality()));
              }
            });
      }
    }
  }

  @Test
  void aBurstOfAHundredThousandTasksCompletesWithEveryTaskOnce() {
    long before = TestNodes.stats(sequencer).of("square").completed();
    TestTasks.runs.clear();
    FlowResult.Completed done =
        TestNodes.await(sequencer.runWithStats("burst", new Burst(100_000)));
    assertEquals(Num.of(100_000), done.result(), "every leaf's result, each accepted once");
    assertEquals(100_000, done.stats().tasks());
    QueueStats stats = TestNodes.stats(sequencer);
    assertEquals(100_000, stats.of("square").completed() - before);
    BitSet ran = new BitSet(100_000);
    TestTasks.runs.stream()
        .filter(run -> run.taskType().equals("square") && run.workerId().startsWith("B-"))
        .forEach(run -> ran.set((int) run.value()));
    assertEquals(100_000, ran.cardinality(), "every task ran on the other node");
    assertEquals(
        0, done.stats().resent(), "nothing was lost on the way: no task had to be sent again");
  }

  private record EchoOnce(Text input) implements FlowLogic<Text> {
    @Override
    public void start(dev.pekkoprover.protocol.flow.FlowScope<Text> scope) {
      scope.push(TestTasks.Echo.INSTANCE, input, scope::complete);
    }
  }

  private String failureOf(FlowLogic<?> logic) {
    return TestNodes.failureOf(sequencer, logic);
  }

  @Test
  void aPayloadNearTheLimitCrossesAndOneOverItFailsItsTaskWithAReason() {
    Text nearLimit =
        Text.ofSize(1_000_000, false); // the limit is 1 MiB (1,048,576 bytes) serialised
    assertEquals(nearLimit, TestNodes.await(sequencer.run("near-limit", new EchoOnce(nearLimit))));

    String input = failureOf(new EchoOnce(Text.ofSize(1_100_000, false)));
    assertTrue(input.contains("input") && input.contains("1048576-byte limit"), input);
    assertTrue(input.contains("split the work"), "says what to do: " + input);

    String result = failureOf(new EchoOnce(Text.ofSize(600_000, true))); // its result is 1.2 MB
    assertTrue(
        result.contains("the result of task") && result.contains("1048576-byte limit"), result);
    assertTrue(result.contains("after 1 dispatch(es)"), "not retried: " + result);
  }

  /**
   * prover.worker.max-reports-per-message (16) over a real Artery link: 40 inline tasks in one
   * DispatchAll to the worker on node B come back to a queue on node A as 16 + 16 + 8 results, in
   * the order dispatched, not as one message of 40 (what a queue in the worker's own JVM gets).
   */
  @Test
  void aWorkerOnAnotherNodeSendsItsResultsInMessagesOfAtMostSixteen() {
    ActorRef<WorkerCommand> local = worker.workers().values().iterator().next();
    ActorRef<WorkerCommand> remote =
        ActorRefResolver.get(sequencer.system())
            .resolveActorRef(ActorRefResolver.get(worker.system()).toSerializationFormat(local));
    TestProbe<QueueCommand> queue = ActorTestKit.create(sequencer.system()).createTestProbe();
    List<TaskEnvelope> tasks = new ArrayList<>(); // run "": never newer than the worker's run
    for (int i = 0; i < 40; i++) {
      tasks.add(new TaskEnvelope("neg-" + i, "flow-neg", "", "negate", 1, Num.of(i)));
    }
    remote.tell(new WorkerCommand.DispatchAll(tasks, queue.getRef()));

    List<Integer> sizes = new ArrayList<>();
    List<String> order = new ArrayList<>();
    while (order.size() < 40) {
      QueueCommand message = queue.receiveMessage(Duration.ofSeconds(10));
      List<TaskSucceeded> results =
          message instanceof Reports reports
              ? reports.succeeded()
              : List.of((TaskSucceeded) message);
      sizes.add(results.size());
      for (TaskSucceeded result : results) {
        assertEquals(Num.of(-Long.parseLong(result.taskId().substring(4))), decoded(result));
        order.add(result.taskId());
      }
    }
    assertEquals(List.of(16, 16, 8), sizes);
    assertEquals(tasks.stream().map(TaskEnvelope::taskId).toList(), order);
  }

  /** A result from another node arrives as the bytes of its check ({@link SerializedPayload}). */
  private Object decoded(TaskSucceeded result) {
    return SerializedPayload.decode(
        SerializationExtension.get(Adapter.toClassic(sequencer.system())), result.result());
  }

  /** Not bound to any serializer. */
  record Unbound(String text) {}

  @Test
  void aMessageOfAClassNotBoundToJacksonIsRefusedWithALogLine() {
    ActorRef<WorkerCommand> local = worker.workers().values().iterator().next();
    ActorRef<Object> remote =
        ActorRefResolver.get(sequencer.system())
            .<WorkerCommand>resolveActorRef(
                ActorRefResolver.get(worker.system()).toSerializationFormat(local))
            .unsafeUpcast();
    LoggingTestKit.error("Unbound")
        .expect(
            sequencer.system(),
            () -> {
              remote.tell(new Unbound("no serializer for me"));
              return null;
            });
    // nothing else was disturbed
    assertEquals(
        Num.of(49),
        TestNodes.await(
            sequencer.run(
                "after",
                scope -> scope.push(TestTasks.Square.INSTANCE, Num.of(7), scope::complete))));
  }
}
