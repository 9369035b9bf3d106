package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerState;
import java.util.List;
import java.util.Map;

/**
 * Whether the queue may hand a worker work, judged by the {@link CatalogFingerprint} of its announcement: every type it
 * is configured for must have the queue's version of that type (a type the queue does not know is a difference too),
 * and a Registered or Ready worker must hold the keys of the current run, when the queue knows them. A plain class
 * beside {@link LocalTaskQueue}, which logs and sends what it decides.
 *
 * <p>Not to miss: the queue knows the current run's keys only where it holds the registration task on offer (the
 * queue of one JVM; in a cluster the registration type's entity, which hands out no regular work). Elsewhere only
 * the versions are checked, and a worker holding an earlier run's keys registers again at its first task of the newer
 * run, as before.
 */
final class CatalogCheck {

  /**
   * Why a worker gets no work.
   *
   * @param reason the exact difference, for the log line and the worker
   * @param registerAgain only its registration is out of date: registering again mends it
   */
  record Refusal(String reason, boolean registerAgain) {}

  private final Map<String, String> versions;
  /** The newest run whose registration task this queue was given, and the digest of its parameters. */
  private String currentRun;
  private String currentKeys;

  CatalogCheck(TaskCatalog catalog) {
    this.versions = CatalogFingerprint.of(catalog).versions();
  }

  /**
   * A registration task of {@code runId} was offered with these parameters: from now on a registered worker must
   * hold them, unless a newer run has been offered already. A repeated offer of the same run is not digested again.
   *
   * @throws IllegalArgumentException when the parameters cannot be written as JSON ({@link
   *     CatalogFingerprint#keysDigestOf})
   */
  void registrationOffered(String runId, Object parameters) {
    if (runId != null && runId.equals(currentRun)) {
      return;
    }
    if (currentRun != null && !RunIds.isNewer(runId, currentRun)) {
      return;
    }
    currentKeys = CatalogFingerprint.keysDigestOf(parameters);
    currentRun = runId;
  }

  /** The refusal of this announcement, or null when the worker may get work (also when it carries no fingerprint). */
  Refusal judge(WorkerServes announcement) {
    CatalogFingerprint fingerprint = announcement.fingerprint();
    if (fingerprint == null) {
      return null;
    }
    List<String> differences = fingerprint.differencesFrom(versions, announcement.configuredTypes());
    if (!differences.isEmpty()) {
      return new Refusal("its task catalog differs from this queue's: " + String.join(", ", differences)
          + "; it gets no work until it runs the same build", false);
    }
    boolean registered = announcement.state() == WorkerState.REGISTERED || announcement.state() == WorkerState.READY;
    if (registered && currentKeys != null && fingerprint.keysDigest() != null
        && !currentKeys.equals(fingerprint.keysDigest())) {
      return new Refusal("it holds registration parameters with keys digest " + fingerprint.keysDigest()
          + ", but the current run " + currentRun + " has " + currentKeys + "; it gets no regular work until it "
          + "registers again", true);
    }
    return null;
  }
}
