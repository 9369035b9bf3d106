package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.RunIds;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerState;
import java.util.List;
import java.util.Map;

/**
 * Whether the queue may hand a worker work, judged by the {@link CatalogFingerprint} of its
 * announcement: every type it is configured for must have the reference version of that type (a
 * type the reference does not know is a difference too), and a Registered or Ready worker
 * registered in an earlier run must hold the keys of the current run, once the queue knows them. A
 * plain class beside {@link LocalTaskQueue}, which logs and sends what it decides.
 *
 * <p>The reference is the sequencer's catalog and the current run's keys digest, as the front that
 * took the run's registration offer told every entity ({@link
 * dev.pekkoprover.protocol.QueueCommand.RunCatalog}); the queue of one JVM learns the keys from the
 * registration task itself. Not to miss: until an entity has heard of a run (it started again on
 * another node after a rebalance, and no registration was offered since), it compares with its own
 * node's catalog and checks no keys; a worker holding an earlier run's keys then registers again at
 * its first task of the newer run, as it always did.
 */
final class CatalogCheck {

  /**
   * Why a worker gets no work.
   *
   * @param reason the exact difference, for the log line and the worker
   * @param registerAgain only its registration is out of date: registering again mends it
   */
  record Refusal(String reason, boolean registerAgain) {}

  /**
   * Type name -> version a worker must have: this node's catalog's, then the sequencer's once told.
   */
  private Map<String, String> versions;

  /**
   * The newest run whose registration task this queue was given, and the digest of its parameters.
   */
  private String currentRun;

  private String currentKeys;

  CatalogCheck(TaskCatalog catalog) {
    this.versions = CatalogFingerprint.of(catalog).versions();
  }

  /**
   * A registration task of {@code runId} was offered with these parameters: from now on a
   * registered worker must hold them, unless a newer run has been offered already. A repeated offer
   * of the same run is not digested again.
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

  /**
   * The sequencer's catalog and the keys digest of run {@code runId}; ignored when a newer run is
   * known already (a late message of a run that is over).
   */
  void runCatalog(String runId, Map<String, String> runVersions, String keysDigest) {
    if (currentRun != null && RunIds.isNewer(currentRun, runId)) {
      return;
    }
    versions = Map.copyOf(runVersions);
    currentRun = runId;
    currentKeys = keysDigest;
  }

  /**
   * The refusal of this announcement, or null when the worker may get work (also when it carries no
   * fingerprint).
   */
  Refusal judge(WorkerServes announcement) {
    CatalogFingerprint fingerprint = announcement.fingerprint();
    if (fingerprint == null) {
      return null;
    }
    List<String> differences =
        fingerprint.differencesFrom(versions, announcement.configuredTypes());
    if (!differences.isEmpty()) {
      return new Refusal(
          "its task catalog differs from this queue's: "
              + String.join(", ", differences)
              + "; it gets no work until it runs the same build and --plugin as this queue node"
              + " (the same task catalog, for a node assembled in code)",
          false);
    }
    boolean registered =
        announcement.state() == WorkerState.REGISTERED || announcement.state() == WorkerState.READY;
    if (registered
        && currentKeys != null
        && fingerprint.keysDigest() != null
        && !currentKeys.equals(fingerprint.keysDigest())
        && RunIds.isNewer(currentRun, fingerprint.keysRun())) {
      return new Refusal(
          "it holds the registration parameters of run "
              + fingerprint.keysRun()
              + " (keys digest "
              + fingerprint.keysDigest()
              + "), but the current run "
              + currentRun
              + " has "
              + currentKeys
              + "; it gets no regular work until it registers again",
          true);
    }
    return null;
  }
}
