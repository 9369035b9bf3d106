package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.ForwardingTaskType;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.testing.TestTasks;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Which announcements the queue refuses: another version of a type, a type it does not know,
 * out-of-date keys.
 */
class CatalogCheckTest {
  static final TaskType<?, ?> SQUARE_V2 =
      new ForwardingTaskType<>(TestTasks.Square.INSTANCE) {
        @Override
        public String version() {
          return "2";
        }
      };

  private final CatalogCheck check = new CatalogCheck(TaskCatalog.of(TestTasks.all()));

  private static WorkerServes announce(
      WorkerState state, CatalogFingerprint fingerprint, String... configured) {
    Set<String> types =
        state == WorkerState.READY ? Set.of(configured) : Set.of(WorkerRegistrationTask.NAME);
    return new WorkerServes(null, "w1", "i1", types, 1, state, Set.of(configured), fingerprint);
  }

  @Test
  void aWorkerOfTheSameBuildIsAccepted() {
    CatalogFingerprint same = CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE));
    assertNull(check.judge(announce(WorkerState.UNPREPARED, same, "square")));
    assertNull(
        check.judge(announce(WorkerState.READY, same.registeredWith("r1", "any"), "square")),
        "no keys checked before a registration task was offered");
    assertNull(
        check.judge(announce(WorkerState.READY, null, "square")), "no fingerprint: not checked");
  }

  @Test
  void anotherVersionOfATypeIsRefusedForGoodNamingBothVersions() {
    CatalogFingerprint other =
        CatalogFingerprint.of(TaskCatalog.of(SQUARE_V2, TestTasks.Add.INSTANCE));
    CatalogCheck.Refusal refusal =
        check.judge(announce(WorkerState.UNPREPARED, other, "square", "add"));
    assertEquals(
        "its task catalog differs from this queue's: square version 2 (queue has 1); it gets no work until "
            + "it runs the same build and --plugin as this queue node (the same task catalog, for a"
            + " node assembled in code)",
        refusal.reason());
    assertFalse(refusal.registerAgain());
  }

  @Test
  void aTypeTheQueueDoesNotKnowIsRefused() {
    CatalogFingerprint other =
        CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Echo.INSTANCE));
    CatalogCheck.Refusal refusal =
        check.judge(announce(WorkerState.UNPREPARED, other, "square", "echo"));
    assertTrue(refusal.reason().contains("type 'echo' (unknown to the queue)"), refusal.reason());
  }

  @Test
  void aRegisteredWorkerWithTheKeysOfAnotherRunIsToldToRegisterAgain() {
    TestTasks.Keys current = new TestTasks.Keys("run-2 keys");
    check.registrationOffered("r2", current);
    check.registrationOffered(
        "r1", new TestTasks.Keys("run-1 keys")); // a late offer of an older run changes nothing
    CatalogFingerprint built = CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE));
    CatalogFingerprint oldKeys =
        built.registeredWith(
            "r1", CatalogFingerprint.keysDigestOf(new TestTasks.Keys("run-1 keys")));
    CatalogCheck.Refusal refusal = check.judge(announce(WorkerState.READY, oldKeys, "square"));
    assertTrue(refusal.registerAgain(), refusal.toString());
    assertTrue(
        refusal
            .reason()
            .contains("the current run r2 has " + CatalogFingerprint.keysDigestOf(current)),
        refusal.reason());

    CatalogFingerprint currentKeys =
        built.registeredWith("r2", CatalogFingerprint.keysDigestOf(current));
    assertNull(check.judge(announce(WorkerState.READY, currentKeys, "square")));
    CatalogFingerprint sameRunOtherDigest = built.registeredWith("r2", "not the queue's digest");
    assertNull(
        check.judge(announce(WorkerState.READY, sameRunOtherDigest, "square")),
        "within one run a different digest is no reason to register again (it would only get the same keys)");
    assertNull(
        check.judge(announce(WorkerState.UNPREPARED, built, "square")),
        "an unregistered worker holds no keys");
  }

  @Test
  void theSequencersCatalogReplacesThisNodesAndALateOneOfAnEarlierRunIsIgnored() {
    CatalogFingerprint nodeBuild = CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE));
    CatalogFingerprint sequencerBuild = CatalogFingerprint.of(TaskCatalog.of(SQUARE_V2));
    check.runCatalog("r2", sequencerBuild.versions(), "keys-2");
    check.runCatalog("r1", nodeBuild.versions(), "keys-1");
    assertTrue(
        check
            .judge(announce(WorkerState.UNPREPARED, nodeBuild, "square"))
            .reason()
            .contains("square version 1 (queue has 2)"),
        "judged by the sequencer's catalog, whatever this node runs");
    assertNull(
        check.judge(
            announce(WorkerState.READY, sequencerBuild.registeredWith("r2", "keys-2"), "square")));
    assertTrue(
        check
            .judge(
                announce(
                    WorkerState.READY, sequencerBuild.registeredWith("r1", "keys-1"), "square"))
            .registerAgain());
  }
}
