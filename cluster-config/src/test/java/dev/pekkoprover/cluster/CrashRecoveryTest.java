package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Item 4: a worker that crashes in compute is restarted by its supervisor, comes back Unprepared,
 * registers again and serves again; the task it held runs again and its result reaches the flow
 * once.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrashRecoveryTest {
  private ProverNode node;
  private ActorTestKit kit;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("crash", "").workers(WorkerGroup.allTypes(2, 1)).start();
    kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void aCrashedWorkerComesBackAndItsTaskRunsAgainOnce() {
    TestProbe<WorkerStateChanged> states = TestNodes.stateProbe(kit);
    List<Num> leaves = new ArrayList<>();
    for (long i = 1; i <= 8; i++) {
      leaves.add(i == 5 ? new Num(5, "crash-once:k") : Num.of(i));
    }
    FlowResult.Completed done =
        TestNodes.await(
            node.runWithStats(
                "crashing",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new)));

    assertEquals(Num.of(204), done.result(), "sum of squares 1..8");
    assertEquals(15, done.stats().tasks());
    long runsOfFive =
        TestTasks.runs.stream()
            .filter(run -> run.taskType().equals("square") && run.value() == 5)
            .count();
    assertEquals(2, runsOfFive, "the crashed task ran a second time");

    // the crashed worker went back to Unprepared, then through Registered to Ready with a new
    // incarnation
    WorkerStateChanged unprepared =
        states
            .fishForMessage(
                java.time.Duration.ofSeconds(10),
                c ->
                    c.state() == WorkerState.UNPREPARED
                        ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                        : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes
                            .continueAndIgnore())
            .get(0);
    WorkerStateChanged ready =
        states
            .fishForMessage(
                java.time.Duration.ofSeconds(10),
                c ->
                    c.workerId().equals(unprepared.workerId()) && c.state() == WorkerState.READY
                        ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                        : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes
                            .continueAndIgnore())
            .get(0);
    assertEquals(unprepared.incarnation(), ready.incarnation());
    // the registration loop counts the outcome the queue passes on, which may come after READY
    states.awaitAssert(
        java.time.Duration.ofSeconds(10),
        () -> {
          List<String> registered = TestNodes.await(node.registrationStatus()).registeredWorkers();
          assertEquals(
              3,
              registered.size(),
              "two first registrations plus the restarted worker's: " + registered);
          assertEquals(unprepared.workerId(), registered.get(2));
          return null;
        });

    // and it serves again: a second flow uses both workers' capacity
    Num again =
        TestNodes.await(
            node.run(
                "after-crash",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(Num.of(3), Num.of(4)),
                    TestTasks.Add.INSTANCE,
                    Pair::new)));
    assertEquals(Num.of(25), again);
  }
}
