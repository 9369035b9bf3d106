package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Keys;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The worker's side of the catalog check: it announces its types' versions and, once registered,
 * the digest of its keys; a refusal for out-of-date keys makes it register again; a refusal of its
 * build is logged once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class WorkerRefusalTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "worker-refusal", TestConfig.config("prover.worker.announce-interval = 0s"));
  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private record Spawned(
      ActorRef<WorkerCommand> worker, TestProbe<QueueCommand> queue, WorkerServes first) {}

  private Spawned spawn(String workerId) {
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    WorkerSettings settings =
        WorkerSettings.fromConfig(testKit.system().settings().config(), workerId);
    ActorRef<WorkerCommand> worker =
        testKit.spawn(Worker.create(settings, CATALOG, queue.getRef(), null), workerId);
    return new Spawned(worker, queue, queue.expectMessageClass(WorkerServes.class));
  }

  /** Registers it and returns its Ready announcement. */
  private static WorkerServes register(Spawned w, Keys keys) {
    w.worker()
        .tell(
            new WorkerCommand.Dispatch(
                new TaskEnvelope("reg", "register", "run-1", WorkerRegistrationTask.NAME, 1, keys),
                w.queue().getRef()));
    w.queue().expectMessageClass(TaskSucceeded.class);
    w.queue().expectMessageClass(WorkerServes.class); // Registered
    WorkerServes ready = w.queue().expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.READY, ready.state());
    return ready;
  }

  @Test
  void itAnnouncesItsVersionsAndOnceRegisteredTheDigestOfItsKeys() {
    Spawned w = spawn("fp-w1");
    assertEquals(CatalogFingerprint.of(CATALOG), w.first().fingerprint());
    assertNull(w.first().fingerprint().keysDigest());
    WorkerServes ready = register(w, new Keys("k1"));
    assertEquals(CatalogFingerprint.keysDigestOf(new Keys("k1")), ready.fingerprint().keysDigest());
    assertEquals("run-1", ready.fingerprint().keysRun(), "the run whose registration task it took");
  }

  @Test
  void aRefusalOfItsKeysMakesItRegisterAgainAndALateOneIsIgnored() {
    Spawned w = spawn("fp-w2");
    WorkerServes ready = register(w, new Keys("k1"));
    String incarnation = ready.incarnation();
    w.worker()
        .tell(
            new WorkerCommand.Refused(
                "fp-w2", incarnation, "keys of another run", true, "some other digest"));
    w.queue().expectNoMessage(Duration.ofMillis(200));

    w.worker()
        .tell(
            new WorkerCommand.Refused(
                "fp-w2",
                incarnation,
                "keys of another run",
                true,
                ready.fingerprint().keysDigest()));
    WorkerServes again = w.queue().expectMessageClass(WorkerServes.class);
    assertEquals(WorkerState.UNPREPARED, again.state());
    assertNull(again.fingerprint().keysDigest());
  }

  @Test
  void aRefusalOfItsBuildIsLoggedOncePerIncarnation() {
    Spawned w = spawn("fp-w3");
    String incarnation = w.first().incarnation();
    LoggingTestKit.error(
            "Worker fp-w3 (incarnation "
                + incarnation
                + ") is refused by the queue: its catalog differs")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              for (int i = 0; i < 3; i++) { // every entity of its types says so
                w.worker()
                    .tell(
                        new WorkerCommand.Refused(
                            "fp-w3", incarnation, "its catalog differs", false, null));
              }
              return null;
            });
    w.queue().expectNoMessage(Duration.ofMillis(200));
  }
}
