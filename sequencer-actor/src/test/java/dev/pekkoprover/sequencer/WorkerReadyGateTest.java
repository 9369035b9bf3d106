package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.testing.TestConfig;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.BehaviorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerReadyGateTest {
  private final ActorTestKit testKit = ActorTestKit.create("gate", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void opensAtOnceWithoutLocalWorkers() throws Exception {
    CompletableFuture<Void> ready = new CompletableFuture<>();
    testKit.spawn(WorkerReadyGate.create(Set.of(), ready));
    ready.get(3, TimeUnit.SECONDS);
  }

  @Test
  void opensOnlyWhenEveryLocalWorkerIsReady() throws Exception {
    CompletableFuture<Void> ready = new CompletableFuture<>();
    // the synchronous testkit runs each message to completion, so "not yet open" is checked after
    // it was handled
    BehaviorTestKit<WorkerStateChanged> gate =
        BehaviorTestKit.create(WorkerReadyGate.create(Set.of("w1", "w2"), ready));
    gate.run(new WorkerStateChanged("w1", "i1", WorkerState.UNPREPARED));
    gate.run(new WorkerStateChanged("w1", "i1", WorkerState.REGISTERED));
    gate.run(new WorkerStateChanged("w1", "i1", WorkerState.READY));
    gate.run(new WorkerStateChanged("w2", "i2", WorkerState.REGISTERED));
    gate.run(new WorkerStateChanged("other", "i3", WorkerState.READY));
    assertFalse(ready.isDone(), "w2 is not Ready yet");
    gate.run(new WorkerStateChanged("w2", "i2", WorkerState.READY));
    assertTrue(ready.isDone());
  }
}
