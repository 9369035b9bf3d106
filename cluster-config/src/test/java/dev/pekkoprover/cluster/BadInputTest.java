package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/** Item 7: each bad input gets a clear error and disturbs nothing else. */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
  private ProverNode node;
  private ActorTestKit kit;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("bad-input", "").workers(WorkerGroup.allTypes(2, 2)).start();
    kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private String failureOf(FlowLogic<?> logic) {
    return TestNodes.failureOf(node, logic);
  }

  private void stillWorks() {
    assertEquals(
        Num.of(25),
        TestNodes.await(
            node.run(
                "still-works",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(Num.of(3), Num.of(4)),
                    TestTasks.Add.INSTANCE,
                    Pair::new))));
  }

  /** A type the node's catalog does not hold. */
  private static final class Unknown extends NamedTaskType<Num, Num> {
    private Unknown() {
      super("no-such-type", Num.class, Num.class);
    }

    @Override
    public Num compute(Num input, TaskContext context) {
      return input;
    }
  }

  @Test
  void unknownTaskTypeIsRefusedAtEnqueue() {
    String reason =
        failureOf(scope -> scope.push(new Unknown(), Num.of(1), r -> scope.complete(r)));
    assertTrue(reason.contains("unknown task type 'no-such-type'"), reason);
    assertTrue(reason.contains("Register the type"), "says what to do: " + reason);
    stillWorks();
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void aPayloadThatDoesNotDeserialiseFailsItsTaskAndTheWorkerSurvives() {
    String reason =
        failureOf(
            scope ->
                scope.push(
                    (TaskType) TestTasks.Square.INSTANCE,
                    new EncodedPayload("{\"value\": \"not a number\""),
                    r -> scope.complete(r)));
    assertTrue(reason.contains("square"), reason);
    assertTrue(reason.contains("after 1 dispatch(es)"), "not retried: " + reason);
    stillWorks();
  }

  @Test
  void aTaskThatAlwaysThrowsIsRetriedThenFailsTheFlowNamingIt() {
    String reason =
        failureOf(
            new FanOutReduce<>(
                TestTasks.Square.INSTANCE,
                List.of(Num.of(1), new Num(2, "fail")),
                TestTasks.Add.INSTANCE,
                Pair::new));
    assertTrue(
        reason.matches(".*task bad-\\d+:2 \\(type square\\) failed after 3 dispatch.*"), reason);
    assertTrue(reason.contains("simulated failure of square on 2"), reason);
    assertEquals(
        3,
        TestTasks.runs.stream()
            .filter(run -> run.value() == 2 && run.taskType().equals("square"))
            .count(),
        "max-attempts = 3 runs");
    stillWorks();
  }

  @Test
  void aResultForAnUnknownTaskIsDroppedAndCounted() {
    long before = TestNodes.stats(node).unknownResults();
    node.queue()
        .tell(
            new QueueCommand.TaskSucceeded(
                "nobody", "x", "made-up:1", "r0000000000001-00000000", "square", 1, Num.of(0)));
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertEquals(before + 1, TestNodes.stats(node).unknownResults());
              return null;
            });
    stillWorks();
  }
}
