package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.sequencer.SequencerSettings;
import dev.pekkoprover.sequencer.WorkerRegistrationFlow;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Items 2 and 3: workers started at different times all reach Ready through the registration loop;
 * the loop ran exactly once per worker and keeps registration-offers tasks on offer; the ready gate
 * opens only with the local worker Ready.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RegistrationLoopTest {
  private ProverNode node;
  private ActorTestKit kit;

  @BeforeAll
  void start() {
    TestTasks.reset();
    node = TestNodes.node("registration", "").workers(WorkerGroup.allTypes(1, 1)).start();
    kit = ActorTestKit.create(node.system());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void threeWorkersStartedAtDifferentTimesAllRegisterOnce() {
    TestProbe<WorkerStateChanged> states = TestNodes.stateProbe(kit);
    TestNodes.await(node.ready());
    String first = node.workers().keySet().iterator().next();

    String second = TestNodes.await(node.addWorker(List.of(), 1));
    awaitReady(states, second);
    String third = TestNodes.await(node.addWorker(List.of(), 1));
    awaitReady(states, third);

    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              WorkerRegistrationFlow.Status status = TestNodes.await(node.registrationStatus());
              assertEquals(
                  List.of(first, second, third),
                  status.registeredWorkers(),
                  "each worker registered exactly once, in start order");
              int offers =
                  SequencerSettings.fromConfig(node.system().settings().config())
                      .registrationOffers();
              assertTrue(status.onOffer(), "the next registration tasks are already on offer");
              assertEquals(offers, status.tasksOnOffer());
              assertEquals(
                  offers,
                  TestNodes.stats(node).of(WorkerRegistrationTask.NAME).pending(),
                  "exactly registration-offers tasks wait in the queue, untaken by the three Ready"
                      + " workers");
              return null;
            });
  }

  private static void awaitReady(TestProbe<WorkerStateChanged> states, String workerId) {
    awaitState(states, workerId, WorkerState.READY);
  }

  private static void awaitState(
      TestProbe<WorkerStateChanged> states, String workerId, WorkerState state) {
    states.fishForMessage(
        Duration.ofSeconds(15),
        changed ->
            changed.workerId().equals(workerId) && changed.state() == state
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
  }

  @Test
  void theGateOpensOnlyWhenTheLocalWorkerIsReady() {
    // a node whose only worker cannot become Ready: it serves the regular types, but nobody
    // compiles the keys
    // (its sequencer's compile type is served by no worker), so it never gets a registration task
    ProverNode stuck =
        ProverNode.builder("stuck")
            .config(dev.pekkoprover.testing.TestConfig.config(TestNodes.FAST))
            .catalog(TestNodes.catalog())
            .localQueue()
            .sequencer(TestNodes.compilePlan())
            .workers(WorkerGroup.of(1, List.of("square", "add"), 1))
            .start();
    try {
      ActorTestKit stuckKit = ActorTestKit.create(stuck.system());
      // its Unprepared event may be published before any subscription: watch only for the states it
      // must not reach
      TestProbe<WorkerStateChanged> beyondUnprepared = stuckKit.createTestProbe();
      ActorRef<WorkerStateChanged> filter =
          stuckKit.spawn(
              Behaviors.receiveMessage(
                  changed -> {
                    if (changed.state() != WorkerState.UNPREPARED) {
                      beyondUnprepared.getRef().tell(changed);
                    }
                    return Behaviors.same();
                  }));
      stuckKit
          .system()
          .eventStream()
          .tell(new EventStream.Subscribe<>(WorkerStateChanged.class, filter));
      stuckKit
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(15),
              () -> {
                QueueStats stats = TestNodes.stats(stuck);
                assertEquals(
                    1, stats.workers(), "the worker is up and has told the queue what it serves");
                assertEquals(
                    1,
                    stats.of(TestTasks.Compile.INSTANCE.name()).pending(),
                    "the compile task waits: no worker serves it");
                return null;
              });
      beyondUnprepared.expectNoMessage(
          Duration.ofMillis(500)); // it can never register: it never leaves Unprepared
      assertTrue(
          TestNodes.await(stuck.registrationStatus()).registeredWorkers().isEmpty(),
          "nobody registered");
      assertFalse(
          stuck.ready().toCompletableFuture().isDone(),
          "worker still Unprepared: the gate stays shut");
    } finally {
      stuck.close();
    }
    ProverNode noWorker =
        ProverNode.builder("no-worker")
            .config(dev.pekkoprover.testing.TestConfig.config(TestNodes.FAST))
            .catalog(TestNodes.catalog())
            .localQueue()
            .start();
    try {
      TestNodes.await(noWorker.ready());
    } finally {
      noWorker.close();
    }
  }
}
