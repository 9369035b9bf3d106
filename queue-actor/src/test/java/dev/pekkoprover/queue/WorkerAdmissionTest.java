package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which announced workers a queue serves: a second worker of one id on another node is ignored with
 * one line; a worker of another build is refused, told once per incarnation, logged by one entity
 * only, and served once it matches.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class WorkerAdmissionTest {

  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());
  private static final Logger LOG = LoggerFactory.getLogger(WorkerAdmissionTest.class);
  private static final Address OTHER_NODE = new Address("pekko", "prover", "10.0.0.2", 2552);

  private final ActorTestKit testKit =
      ActorTestKit.create("WorkerAdmissionTest", TestConfig.config());

  /** The same worker id's actors on this node and on another: new probes per test. */
  private TestProbe<WorkerCommand> here;

  private TestProbe<WorkerCommand> elsewhere;
  private final CatalogFingerprint other =
      CatalogFingerprint.of(TaskCatalog.of(CatalogCheckTest.SQUARE_V2, TestTasks.Add.INSTANCE));

  @BeforeEach
  void newWorkers() {
    here = testKit.createTestProbe(WorkerCommand.class);
    elsewhere = testKit.createTestProbe(WorkerCommand.class);
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /** The probe {@code elsewhere} plays a worker on another node. */
  private WorkerAdmission admission(String entityId) {
    return new WorkerAdmission(
        CATALOG,
        entityId,
        LOG,
        ref -> ref.equals(elsewhere.getRef()) ? OTHER_NODE : testKit.system().address());
  }

  private static WorkerServes announce(
      TestProbe<WorkerCommand> worker, String incarnation, CatalogFingerprint fingerprint) {
    Set<String> types = Set.of("square", "add");
    return new WorkerServes(
        worker.getRef(), "w1", incarnation, types, 2, WorkerState.READY, types, fingerprint);
  }

  @Test
  void aSecondWorkerOfOneIdOnAnotherNodeIsIgnoredWithOneLine() {
    WorkerAdmission admission = admission(null);
    WorkerServes first = announce(here, "i1", null);
    assertFalse(admission.clashes(first, null));
    assertFalse(
        admission.clashes(announce(here, "i2", null), first), "a restart of the same worker");
    LoggingTestKit.error("worker id w1 is announced by")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              assertTrue(admission.clashes(announce(elsewhere, "i1", null), first));
              assertTrue(
                  admission.clashes(announce(elsewhere, "i1", null), first),
                  "its periodic repeat: no new line");
              return null;
            });
  }

  @Test
  void aWorkerOfAnotherBuildIsRefusedToldOnceAndServedWhenItMatches() {
    WorkerAdmission admission = admission(null);
    LoggingTestKit.warn("refused worker w1 at WorkerAdmissionTest (incarnation i1)")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              assertFalse(admission.admits(announce(here, "i1", other)));
              assertFalse(admission.admits(announce(here, "i1", other)), "a periodic repeat");
              return null;
            });
    WorkerCommand.Refused refused = here.expectMessageClass(WorkerCommand.Refused.class);
    assertTrue(refused.reason().contains("square version 2 (queue has 1)"), refused.reason());
    assertEquals(refused.reason(), admission.refusalOf("w1"));
    QueueSync.expectNothingQueued(here, QueueSync.WORKER_MARKER);

    LoggingTestKit.info("worker w1 (incarnation i2) is no longer refused")
        .expect(
            testKit.system(),
            () -> {
              assertTrue(admission.admits(announce(here, "i2", CatalogFingerprint.of(CATALOG))));
              return null;
            });
    assertNull(admission.refusalOf("w1"));
  }

  @Test
  void aStoppedWorkerIsForgottenSoItsNextIncarnationIsToldAgain() {
    WorkerAdmission admission = admission(null);
    assertFalse(admission.admits(announce(here, "i1", other)));
    here.expectMessageClass(WorkerCommand.Refused.class);
    admission.workerStopped(here.getRef(), List.of("w1"));
    assertNull(admission.refusalOf("w1"));
    assertFalse(admission.admits(announce(here, "i1", other)));
    here.expectMessageClass(WorkerCommand.Refused.class);
  }

  @Test
  void inAClusterOnlyTheEntityOfTheWorkersFirstTypeLogsTheRefusal() {
    // "add" comes before "square": partition 0 of add speaks, the others refuse as quietly
    for (String entity : List.of("square", "add#1")) {
      LoggingTestKit.warn("refused worker w1")
          .withOccurrences(0)
          .expect(
              testKit.system(),
              () -> {
                assertFalse(admission(entity).admits(announce(here, "i1", other)));
                return null;
              });
    }
    LoggingTestKit.warn("refused worker w1")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              assertFalse(admission("add#0").admits(announce(here, "i1", other)));
              return null;
            });
    for (int told = 0; told < 3; told++) {
      here.expectMessageClass(WorkerCommand.Refused.class); // every entity tells the worker
    }
  }
}
