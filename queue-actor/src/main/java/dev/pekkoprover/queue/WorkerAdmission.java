package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand.RunCatalog;
import dev.pekkoprover.protocol.QueueCommand.WorkerServes;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.slf4j.Logger;

/**
 * Which announced workers a queue serves, and what it says about the others. A worker whose id is
 * alive on another node is ignored (ids must be unique), with one ERROR line. A worker whose task
 * catalog or keys differ from the run's ({@link CatalogCheck}) is known but gets no work; it is
 * told so, and the refusal logged, once per incarnation and reason, in a cluster by one entity only
 * ({@link #speaksFor}). A plain class beside {@link LocalTaskQueue}, which logs through it with its
 * own logger. Not thread-safe: the actor calls it.
 */
final class WorkerAdmission {

  /** The refusal of a worker incarnation by the catalog check. */
  private record RefusalSeen(String incarnation, String reason) {}

  private final CatalogCheck catalogCheck;

  /** Null for the queue of one JVM; else this entity's id. */
  private final String entityId;

  /** Every type of the node's catalog (an entity holds one of them). */
  private final Set<String> catalogTypes;

  private final Logger log;

  /** The node of a worker's reference (this node's for a local reference). */
  private final Function<ActorRef<?>, Address> nodeOf;

  /**
   * Workers ignored because another worker of the same id is alive on another node; logged once
   * each.
   */
  private final Set<ActorRef<WorkerCommand>> clashing = new HashSet<>();

  /**
   * Worker id -> its refusal by the catalog check, so that it is logged and sent once per
   * incarnation.
   */
  private final Map<String, RefusalSeen> refusals = new HashMap<>();

  /**
   * @param entityId null for the queue of one JVM, else the entity's id ({@code type} or {@code
   *     type#n})
   * @param log the queue's logger
   * @param nodeOf the node of a worker's reference (this node's for a local reference)
   */
  WorkerAdmission(
      TaskCatalog catalog, String entityId, Logger log, Function<ActorRef<?>, Address> nodeOf) {
    this.catalogCheck = new CatalogCheck(catalog);
    this.entityId = entityId;
    this.catalogTypes = catalog.names();
    this.log = log;
    this.nodeOf = nodeOf;
  }

  /**
   * Whether another worker of this id is alive on another node (not terminated: that would have
   * removed it from the announcements): then the queue ignores this announcement. Logged once per
   * clashing worker.
   *
   * @param previous the last announcement kept for this worker id, or null
   */
  boolean clashes(WorkerServes msg, WorkerServes previous) {
    if (previous != null
        && !previous.worker().equals(msg.worker())
        && !nodeOf.apply(previous.worker()).equals(nodeOf.apply(msg.worker()))) {
      if (clashing.add(msg.worker())) {
        log.error(
            "worker id {} is announced by {} while a worker of the same id is alive at {}: worker ids must be "
                + "unique across the cluster (give each node its own node id, or let it default to its host:port); "
                + "the second one gets no work until the first one's node leaves or is downed",
            msg.workerId(),
            msg.worker().path(),
            previous.worker().path());
      }
      return true;
    }
    clashing.remove(msg.worker());
    return false;
  }

  /**
   * Whether the queue may give this worker work: its catalog and keys match the run's. A worker
   * refused is told why, once per incarnation and reason; one refused before and admitted now is
   * logged as such.
   */
  boolean admits(WorkerServes msg) {
    CatalogCheck.Refusal refusal = catalogCheck.judge(msg);
    if (refusal != null) {
      refuse(msg, refusal);
      return false;
    }
    if (refusals.remove(msg.workerId()) != null && speaksFor(msg)) {
      log.info(
          "worker {} (incarnation {}) is no longer refused: its catalog and keys match this queue's",
          msg.workerId(),
          msg.incarnation());
    }
    return true;
  }

  /**
   * Why the queue refuses this worker, for the fleet view; null when it serves it (or does not know
   * it).
   */
  String refusalOf(String workerId) {
    RefusalSeen refusal = refusals.get(workerId);
    return refusal == null ? null : refusal.reason();
  }

  /**
   * A worker actor terminated: it is forgotten.
   *
   * @param workerIds the ids it was announced under
   */
  void workerStopped(ActorRef<WorkerCommand> worker, Collection<String> workerIds) {
    clashing.remove(worker);
    workerIds.forEach(refusals::remove);
  }

  /**
   * Remembers the current run's keys digest from its registration task; parameters that do not
   * digest: no check.
   */
  void registrationOffered(TaskEnvelope task) {
    try {
      catalogCheck.registrationOffered(task.runId(), task.payload());
    } catch (IllegalArgumentException e) {
      log.warn(
          "registration task {} of run {}: {}; workers' keys are not checked against it",
          task.taskId(),
          task.runId(),
          e.getMessage());
    }
  }

  /** Judges the next announcements against the sequencer's catalog and the run's keys. */
  void runCatalog(RunCatalog msg) {
    log.debug(
        "run {}: workers must have task type contracts (version#shape) {} and keys digest {}",
        msg.runId(),
        msg.versions(),
        msg.keysDigest());
    catalogCheck.runCatalog(msg.runId(), msg.versions(), msg.keysDigest());
  }

  /**
   * Logs a refusal once per worker incarnation and reason, and tells the worker. In a cluster every
   * entity of the worker's types refuses it alike; only one logs the refusal above DEBUG ({@link
   * #speaksFor}).
   */
  private void refuse(WorkerServes msg, CatalogCheck.Refusal refusal) {
    RefusalSeen seen = new RefusalSeen(msg.incarnation(), refusal.reason());
    if (seen.equals(refusals.put(msg.workerId(), seen))) {
      return; // a periodic repeat
    }
    String line = "refused worker {} at {} (incarnation {}): {}";
    Object[] args = {
      msg.workerId(),
      QueueStatus.nodeName(nodeOf.apply(msg.worker())),
      msg.incarnation(),
      refusal.reason()
    };
    if (!speaksFor(msg)) {
      log.debug(line, args);
    } else if (refusal.registerAgain()) {
      log.info(line, args); // a sequencer restart with new keys: normal, and it mends itself
    } else {
      log.warn(line, args);
    }
    msg.worker()
        .tell(
            new WorkerCommand.Refused(
                msg.workerId(),
                msg.incarnation(),
                refusal.reason(),
                refusal.registerAgain(),
                msg.fingerprint().keysDigest()));
  }

  /**
   * Whether this queue is the one that logs about the worker: the queue of one JVM, or the entity
   * of the first (by name) of the types the worker announces, partition 0. The front sends the
   * announcement to every entity of those types, wherever they live, so exactly one entity speaks
   * whichever node hosts it.
   */
  boolean speaksFor(WorkerServes msg) {
    if (entityId == null) {
      return true;
    }
    String first =
        msg.taskTypes().stream().filter(catalogTypes::contains).sorted().findFirst().orElse(null);
    return LocalTaskQueue.typeOfEntity(entityId).equals(first)
        && (!entityId.contains("#") || entityId.endsWith("#0"));
  }
}
