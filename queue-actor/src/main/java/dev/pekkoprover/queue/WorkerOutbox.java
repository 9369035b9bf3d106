package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.WorkerCommand;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The messages to workers decided while a queue handles one message, gathered so that each worker
 * gets one message per kind: its new tasks in one {@link WorkerCommand.Dispatch} or {@link
 * WorkerCommand.DispatchAll}, in the order decided, and the tasks it should stop in one {@link
 * WorkerCommand.Cancel} per sequencer run they belong to (one, but at a takeover). {@link #flush}
 * sends them. The common case (one task to one worker) allocates nothing beyond the Dispatch. Not
 * thread-safe: the queue actor owns it.
 */
final class WorkerOutbox {

  /** Where workers report the tasks dispatched to them: the queue (in a cluster, its entity). */
  private final ActorRef<QueueCommand> queue;

  /** The first dispatch since the last flush. */
  private ActorRef<WorkerCommand> firstWorker;

  private TaskEnvelope firstTask;

  /** All dispatches since the last flush by worker, once there is more than one. */
  private Map<ActorRef<WorkerCommand>, List<TaskEnvelope>> moreDispatches;

  /** Cancellations since the last flush, by worker and run. */
  private Map<CancelTo, List<String>> cancels;

  /** The reason of the first of them, which their messages carry (one message per worker). */
  private String cancelReason;

  WorkerOutbox(ActorRef<QueueCommand> queue) {
    this.queue = queue;
  }

  /** Hand this task to this worker at the next flush. Hot path. */
  void dispatch(ActorRef<WorkerCommand> worker, TaskEnvelope task) {
    if (firstWorker == null) {
      firstWorker = worker;
      firstTask = task;
      return;
    }
    if (moreDispatches == null) {
      moreDispatches = new LinkedHashMap<>();
      moreDispatches.computeIfAbsent(firstWorker, w -> new ArrayList<>()).add(firstTask);
    }
    moreDispatches.computeIfAbsent(worker, w -> new ArrayList<>()).add(task);
  }

  /**
   * Tell this worker to stop this task of sequencer run {@code runId} at the next flush; the first
   * reason since the last flush goes with all.
   */
  void cancel(ActorRef<WorkerCommand> worker, String taskId, String runId, String reason) {
    if (cancels == null) {
      cancels = new LinkedHashMap<>();
      cancelReason = reason;
    }
    cancels.computeIfAbsent(new CancelTo(worker, runId), k -> new ArrayList<>(2)).add(taskId);
  }

  /** Sends what was gathered, cancellations first, and starts empty again. */
  void flush() {
    if (cancels != null) {
      String reason = cancelReason;
      cancels.forEach((to, ids) -> to.worker.tell(new WorkerCommand.Cancel(ids, to.runId, reason)));
      cancels = null;
      cancelReason = null;
    }
    if (firstWorker == null) {
      return;
    }
    if (moreDispatches == null) {
      firstWorker.tell(new WorkerCommand.Dispatch(firstTask, queue));
    } else {
      moreDispatches.forEach(
          (worker, tasks) ->
              worker.tell(
                  tasks.size() == 1
                      ? new WorkerCommand.Dispatch(tasks.get(0), queue)
                      : new WorkerCommand.DispatchAll(tasks, queue)));
      moreDispatches = null;
    }
    firstWorker = null;
    firstTask = null;
  }

  /** The worker, and the run of the tasks, one {@link WorkerCommand.Cancel} goes to. */
  private record CancelTo(ActorRef<WorkerCommand> worker, String runId) {}
}
