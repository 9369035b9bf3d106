package dev.pekkoprover.worker;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import java.util.concurrent.Callable;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A compute a worker started on its compute dispatcher, whose result has not come back yet. Its
 * thread is known while the compute runs, so a cancellation interrupts exactly that compute; the
 * lock keeps an interrupt from reaching the thread after the compute has returned (and then the
 * next task that thread runs).
 */
final class RunningCompute {
  final TaskEnvelope task;

  /** The queue (entity) that dispatched the task, where its report goes. */
  final ActorRef<QueueCommand> replyTo;

  private Thread thread;
  private boolean cancelled;
  private String cancelReason;

  /**
   * A later attempt of the same task that the queue handed to this worker while this compute,
   * cancelled, had not returned yet (its lease ran out, or its node was unreachable for a while,
   * and the task came back here); it starts once this compute has failed, or is dropped if this
   * compute returns a result after all. Null when there is none. Read and written on the actor's
   * thread only.
   */
  TaskEnvelope nextAttempt;

  /** Where {@link #nextAttempt} came from; null when there is none. Actor's thread only. */
  ActorRef<QueueCommand> nextAttemptFrom;

  /**
   * The latest attempt of this task handed to this worker while this compute ran: the queue holds
   * the worker to that one, so this compute's outcome is reported under it. Actor's thread only.
   */
  int latestAttempt;

  RunningCompute(TaskEnvelope task, ActorRef<QueueCommand> replyTo) {
    this.task = task;
    this.replyTo = replyTo;
    this.latestAttempt = task.attempt();
  }

  /** The task as its outcome is reported: under the latest attempt handed here. */
  TaskEnvelope answering() {
    return latestAttempt > task.attempt() ? task.withAttempt(latestAttempt) : task;
  }

  /**
   * On the compute thread: runs {@code compute}, interruptible by {@link #cancel} while it runs.
   *
   * @return what the compute returned
   * @throws InterruptedException when the task was cancelled before it started (the compute does
   *     not run)
   * @throws Exception whatever the compute threw (an {@link Error} passes through as well)
   */
  Object run(Callable<Object> compute) throws Exception {
    synchronized (this) {
      if (cancelled) {
        throw new InterruptedException("cancelled before it started");
      }
      thread = Thread.currentThread();
    }
    try {
      return compute.call();
    } finally {
      synchronized (this) {
        thread = null;
        Thread.interrupted(); // clears an interrupt that came in while the compute was finishing
      }
    }
  }

  /**
   * On the actor's thread: interrupts the compute if it runs, keeps it from starting if it has not.
   */
  synchronized void cancel(String reason) {
    cancelled = true;
    cancelReason = reason;
    if (thread != null) {
      thread.interrupt();
    }
  }

  synchronized boolean isCancelled() {
    return cancelled;
  }

  /** Why it was cancelled, or null while it is not. */
  synchronized String cancelReason() {
    return cancelReason;
  }
}
