package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The flow actor against a queue played by a probe: batching, eager reduction, duplicates, stale
 * runs, failure.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FlowRunnerTest {
  private static final String RUN = "run-1";
  private final ActorTestKit testKit = ActorTestKit.create("flow", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private FanOutReduce<Num, Num, Pair> sumOfSquares(int leaves) {
    List<Num> inputs =
        java.util.stream.LongStream.rangeClosed(1, leaves).mapToObj(Num::of).toList();
    return new FanOutReduce<>(TestTasks.Square.INSTANCE, inputs, TestTasks.Add.INSTANCE, Pair::new);
  }

  private static TaskOutcome.Succeeded success(TaskEnvelope task, long value, String run) {
    return new TaskOutcome.Succeeded(
        task.taskId(), task.flowId(), run, task.taskType(), 1, "w", Num.of(value));
  }

  @Test
  void fansOutInOneMessageAndReducesPairsAsSoonAsBothAreDone() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("sum", RUN, queue.getRef(), sumOfSquares(4), requester.getRef()));

    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(4, leaves.tasks().size(), "all leaves travel in one Enqueue");
    List<TaskEnvelope> tasks = leaves.tasks();
    tasks.forEach(task -> assertEquals(RUN, task.runId()));

    // the tree over 4 leaves pairs 0+1 and 2+3: leaves 1 and 2 are neighbours but not a pair
    leaves.replyTo().tell(success(tasks.get(1), 4, RUN));
    leaves.replyTo().tell(success(tasks.get(2), 9, RUN));
    queue.expectNoMessage(Duration.ofMillis(100));
    leaves.replyTo().tell(success(tasks.get(0), 1, RUN));
    QueueCommand.Enqueue left = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        new Pair(Num.of(1), Num.of(4)),
        left.tasks().get(0).payload(),
        "0+1 merge as soon as both are in");

    leaves.replyTo().tell(success(tasks.get(3), 16, RUN));
    QueueCommand.Enqueue right = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        new Pair(Num.of(9), Num.of(16)),
        right.tasks().get(0).payload(),
        "no barrier: 2+3 while 0+1 runs");

    leaves.replyTo().tell(success(right.tasks().get(0), 25, RUN));
    leaves.replyTo().tell(success(left.tasks().get(0), 5, RUN));
    QueueCommand.Enqueue root = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        new Pair(Num.of(5), Num.of(25)),
        root.tasks().get(0).payload(),
        "order kept: left half first");
    leaves.replyTo().tell(success(root.tasks().get(0), 30, RUN));

    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(30), done.result());
    assertEquals(7, done.stats().tasks(), "4 leaves and 3 merges");
  }

  /** A result in the form it arrives from a worker on another node: the bytes of its check. */
  private TaskOutcome.Succeeded serializedSuccess(TaskEnvelope task, long value) {
    Serialization serialization = SerializationExtension.get(testKit.system());
    Num result = Num.of(value);
    Serializer serializer = serialization.findSerializerFor(result);
    return new TaskOutcome.Succeeded(
        task.taskId(),
        task.flowId(),
        RUN,
        task.taskType(),
        1,
        "w",
        new SerializedPayload(
            serializer.identifier(),
            Serializers.manifestFor(serializer, result),
            serializer.toBinary(result)));
  }

  @Test
  void resultsThatArriveAsBytesReachTheCallbacksAsTypedValues() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("bytes", RUN, queue.getRef(), sumOfSquares(2), requester.getRef()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    leaves.replyTo().tell(serializedSuccess(leaves.tasks().get(0), 1));
    leaves.replyTo().tell(serializedSuccess(leaves.tasks().get(1), 4));
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(new Pair(Num.of(1), Num.of(4)), merge.tasks().get(0).payload());
    leaves.replyTo().tell(serializedSuccess(merge.tasks().get(0), 5));
    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(5), done.result());
  }

  @Test
  void aResultWhoseBytesDoNotDecodeFailsTheFlowNamingTheTask() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("garbage", RUN, queue.getRef(), sumOfSquares(2), requester.getRef()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope task = leaves.tasks().get(0);
    TaskOutcome.Succeeded good = serializedSuccess(task, 1);
    SerializedPayload bytes = (SerializedPayload) good.result();
    leaves
        .replyTo()
        .tell(
            new TaskOutcome.Succeeded(
                task.taskId(),
                task.flowId(),
                RUN,
                task.taskType(),
                1,
                "w",
                new SerializedPayload(bytes.serializerId(), bytes.manifest(), new byte[] {7})));
    FlowResult.Failed failed = requester.expectMessageClass(FlowResult.Failed.class);
    assertTrue(
        failed.reason().contains("the result of task " + task.taskId())
            && failed.reason().contains("does not decode on the flow's node"),
        failed.reason());
  }

  @Test
  void dropsDuplicatesAndResultsOfAnotherRun() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("dups", RUN, queue.getRef(), sumOfSquares(2), requester.getRef()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope first = leaves.tasks().get(0);
    TaskEnvelope second = leaves.tasks().get(1);

    leaves.replyTo().tell(success(first, 1000, "earlier-run"));
    leaves.replyTo().tell(success(first, 1, RUN));
    leaves.replyTo().tell(success(first, 1, RUN));
    leaves.replyTo().tell(success(second, 4, RUN));
    QueueCommand.Enqueue merge = queue.expectMessageClass(QueueCommand.Enqueue.class);
    assertEquals(
        new Pair(Num.of(1), Num.of(4)),
        merge.tasks().get(0).payload(),
        "the stale 1000 was not used");
    leaves.replyTo().tell(success(merge.tasks().get(0), 5, RUN));

    FlowResult.Completed done = requester.expectMessageClass(FlowResult.Completed.class);
    assertEquals(Num.of(5), done.result());
    assertEquals(1, done.stats().duplicates());
    assertEquals(1, done.stats().staleResults());
  }

  @Test
  void aTaskThatFailsForGoodFailsTheFlowNamingIt() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("failing", RUN, queue.getRef(), sumOfSquares(3), requester.getRef()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope task = leaves.tasks().get(1);
    leaves
        .replyTo()
        .tell(
            new TaskOutcome.Failed(
                task.taskId(),
                task.flowId(),
                RUN,
                task.taskType(),
                5,
                "IllegalStateException: boom"));

    FlowResult.Failed failed = requester.expectMessageClass(FlowResult.Failed.class);
    assertTrue(failed.reason().contains(task.taskId()), failed.reason());
    assertTrue(failed.reason().contains("square"), failed.reason());
    assertTrue(failed.reason().contains("failed after 5 dispatch(es)"), failed.reason());
    assertTrue(failed.reason().contains("boom"), failed.reason());
    assertEquals(
        new QueueCommand.CancelFlow(task.flowId()),
        queue.expectMessageClass(QueueCommand.CancelFlow.class),
        "the flow withdraws its other pending tasks");
  }

  @Test
  void aRejectedTaskFailsTheFlow() {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    TestProbe<FlowResult> requester = testKit.createTestProbe();
    testKit.spawn(
        TestFlows.create("rejected", RUN, queue.getRef(), sumOfSquares(1), requester.getRef()));
    QueueCommand.Enqueue leaves = queue.expectMessageClass(QueueCommand.Enqueue.class);
    TaskEnvelope task = leaves.tasks().get(0);
    leaves
        .replyTo()
        .tell(
            new TaskOutcome.Rejected(
                task.taskId(), task.flowId(), RUN, "square", "unknown task type"));
    FlowResult.Failed failed = requester.expectMessageClass(FlowResult.Failed.class);
    assertTrue(
        failed.reason().contains("refused by the queue: unknown task type"), failed.reason());
  }
}
