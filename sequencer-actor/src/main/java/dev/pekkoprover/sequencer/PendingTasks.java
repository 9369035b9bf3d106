package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskIds;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A flow's pending tasks by sequence number, and the rules for asking the queue about them and
 * sending them again. A plain class (an actor's state, not thread-safe) on an injected nanosecond
 * clock, so that the rules are tested in milliseconds.
 *
 * <p>The rules: a queued task is due to be asked about ({@link #overdue}) {@code resend-after}
 * after it was sent, then after 2x, 4x ... at most {@code resend-backoff-max} times that since the
 * last check; it is sent again only when the queue answers it does not hold it ({@link
 * #resendMissing}) or a queue node was lost ({@link #resendAllQueued}), and a re-sent task starts
 * over as if sent for the first time. After a loss, queued tasks are asked about every {@code
 * loss-check-interval} for {@code loss-check-window} instead ({@link #startLossChecks}). With
 * {@code resend-after} zero no task is ever due.
 */
final class PendingTasks {
  /** One question to the queue: these ids, all of one task type. */
  record Check(String taskType, List<String> taskIds) {}

  /**
   * What a check tick found.
   *
   * @param checks the questions to send, each at most {@code check-ids-per-message} ids
   * @param asked the tasks asked about in all
   * @param afterLoss within the loss window: the next tick is due after {@code loss-check-interval}
   */
  record Overdue(List<Check> checks, int asked, boolean afterLoss) {}

  /** Re-sent ids a WARN line names; the count says the rest. */
  private static final int IDS_IN_LOG = 10;

  private final String flowId;
  private final LongSupplier clock;
  private final SequenceWindow<PendingTask> window = new SequenceWindow<>();
  private final long resendAfterNanos;
  private final int backoffMax;
  private final int idsPerMessage;
  private final int idsPerTick;
  private final long lossCheckNanos;
  private final long lossWindowNanos;

  /**
   * Until this clock value (after a queue node was lost) queued tasks are asked about each
   * loss-check-interval.
   */
  private long lossChecksUntil;

  private int resent;

  /** When {@link #resendAllQueued} last ran (clock value); meaningful once {@link #resentAll}. */
  private long resentAllAt;

  private boolean resentAll;

  /** Re-sent because the queue no longer held them, not logged yet: one WARN line per tick. */
  private int missingUnlogged;

  private final List<String> missingIdsToLog = new ArrayList<>();

  /**
   * @param clock nanoseconds, like {@link System#nanoTime} (which a flow passes)
   */
  PendingTasks(String flowId, SequencerSettings settings, LongSupplier clock) {
    this.flowId = flowId;
    this.clock = clock;
    this.resendAfterNanos = settings.resendAfter().toNanos();
    this.backoffMax = settings.resendBackoffMax();
    this.idsPerMessage = settings.checkIdsPerMessage();
    this.idsPerTick = settings.checkIdsPerTick();
    this.lossCheckNanos = settings.lossCheckInterval().toNanos();
    this.lossWindowNanos = settings.lossCheckWindow().toNanos();
    this.lossChecksUntil = clock.getAsLong(); // passed: no loss yet
  }

  /**
   * Adds a task just pushed, due to be asked about after resend-after, or within the loss window (a
   * queue node was removed lately) at the next loss check but one; returns its sequence number (1,
   * 2, ...). A task pushed just after a removal can reach the removed node's region before this
   * node's region has dropped it, and is lost as a re-send can be: an operator's trial (two queue
   * nodes killed at once) saw two such tasks found only by the resend-after check, the run stalled
   * at "in flight 0" for 40 s.
   */
  long add(PendingTask task) {
    sending(task);
    return window.add(task);
  }

  /**
   * Sets when a task sent now is first asked about, by the rule of {@link #add}: a durable task
   * sent after waiting on another flow's identical one is due as if pushed now.
   */
  void sending(PendingTask task) {
    long now = clock.getAsLong();
    task.checkAt =
        resendAfterNanos == 0
            ? Long.MAX_VALUE
            : now - lossChecksUntil < 0 ? now + lossCheckNanos - 1 : now + resendAfterNanos;
  }

  /** The task with this sequence number, left pending; null when there is none. */
  PendingTask get(long sequence) {
    return window.get(sequence);
  }

  /**
   * The task with this id of this flow, left pending; null for another flow's id or a task no
   * longer pending.
   */
  PendingTask get(String taskId) {
    long n = TaskIds.sequenceIn(taskId, flowId);
    return n < 0 ? null : window.get(n);
  }

  /** Removes the task with this sequence number and returns it; null when there is none. */
  PendingTask remove(long sequence) {
    return window.remove(sequence);
  }

  /** Every pending task, oldest first. */
  void forEach(Consumer<PendingTask> action) {
    window.forEach(action);
  }

  int size() {
    return window.size();
  }

  boolean isEmpty() {
    return window.isEmpty();
  }

  /** Tasks sent again in all (answers of the queue and lost queue nodes). */
  int resent() {
    return resent;
  }

  /**
   * Marks the queued tasks due now as asked about (at most {@code check-ids-per-tick}; the rest
   * stay due), sets when each is due next, and returns the questions to send, by task type.
   */
  Overdue overdue() {
    if (resendAfterNanos == 0) {
      return new Overdue(List.of(), 0, false); // checks off
    }
    long now = clock.getAsLong();
    boolean afterLoss = now - lossChecksUntil < 0;
    Map<String, List<String>> byType = new LinkedHashMap<>();
    int[] asked = {0};
    window.forEach(
        task -> {
          if (task.stage == PendingTask.QUEUED
              && task.checkAt - now <= 0
              && asked[0] < idsPerTick) {
            asked[0]++;
            if (afterLoss) {
              task.checkAt = now + lossCheckNanos - 1;
            } else {
              task.checks++;
              task.checkAt = now + backoff(task.checks);
            }
            task.asked = true;
            byType
                .computeIfAbsent(task.type.name(), type -> new ArrayList<>())
                .add(task.envelope.taskId());
          }
        });
    List<Check> checks = new ArrayList<>();
    byType.forEach(
        (type, ids) -> {
          for (int from = 0; from < ids.size(); from += idsPerMessage) {
            checks.add(
                new Check(
                    type,
                    List.copyOf(ids.subList(from, Math.min(ids.size(), from + idsPerMessage)))));
          }
        });
    return new Overdue(checks, asked[0], afterLoss);
  }

  /**
   * The wait after the {@code checks}-th check: resend-after times 2^checks, at most times
   * resend-backoff-max.
   */
  private long backoff(int checks) {
    long factor = Math.min(1L << Math.min(checks, 62), backoffMax);
    return factor > Long.MAX_VALUE / resendAfterNanos
        ? Long.MAX_VALUE / 2
        : resendAfterNanos * factor;
  }

  /**
   * The queue says it does not hold these tasks: adds to {@code outbox} those still pending, queued
   * and asked about since they were last sent (so that repeated answers re-send once), and returns
   * how many.
   */
  int resendMissing(List<String> taskIds, List<TaskEnvelope> outbox) {
    long now = clock.getAsLong();
    int count = 0;
    for (String taskId : taskIds) {
      PendingTask task = get(taskId);
      if (task != null && task.asked && task.stage == PendingTask.QUEUED) {
        resend(task, now, outbox);
        if (now - lossChecksUntil < 0) {
          task.checkAt = now + lossCheckNanos - 1; // asked again soon: this re-send may be lost too
        }
        count++;
        if (missingIdsToLog.size() < IDS_IN_LOG) {
          missingIdsToLog.add(taskId);
        }
      }
    }
    resent += count;
    missingUnlogged += count;
    return count;
  }

  /**
   * What {@link #resendMissing} re-sent since the last call, for one log line ({@code "2 task(s)
   * the queue no longer held: f:3, f:9"}), or null when nothing was.
   */
  String takeMissingReport() {
    if (missingUnlogged == 0) {
      return null;
    }
    String report =
        missingUnlogged
            + " task(s) the queue no longer held: "
            + String.join(", ", missingIdsToLog)
            + (missingUnlogged > missingIdsToLog.size() ? ", ..." : "");
    missingUnlogged = 0;
    missingIdsToLog.clear();
    return report;
  }

  /**
   * A queue node was lost: adds every queued task to {@code outbox} (the others wait on another
   * flow or are done) and returns how many. They are due to be asked about at once; {@link
   * #startLossChecks} sets how often after.
   */
  int resendAllQueued(List<TaskEnvelope> outbox) {
    long now = clock.getAsLong();
    resentAll = true;
    resentAllAt = now;
    int[] count = {0};
    window.forEach(
        task -> {
          if (task.stage == PendingTask.QUEUED) {
            resend(task, now, outbox);
            task.checkAt = resendAfterNanos == 0 ? Long.MAX_VALUE : now;
            count[0]++;
          }
        });
    resent += count[0];
    return count[0];
  }

  /**
   * How long ago (nanoseconds) every queued task was last re-sent for a lost queue node, when that
   * was less than {@code loss-check-interval} ago and the checks are on; -1 otherwise. Another
   * queue node lost within that time (two removed in one gossip round: 13 ms apart in a trial) is
   * left to the loss check of the next tick, which asks about every queued task ({@link
   * #checkAllQueuedNow}) and re-sends what the queue no longer holds, such as what that re-send
   * sent to the second node's region before it was dropped; sending everything once more would make
   * copies of what the queue holds, and a copy that reaches a free worker after the first one's
   * result computes the task twice.
   */
  long sinceResentAllWithinCheckInterval() {
    if (resendAfterNanos == 0 || !resentAll) {
      return -1;
    }
    long since = clock.getAsLong() - resentAllAt;
    return since < lossCheckNanos ? since : -1;
  }

  /**
   * Makes every queued task due to be asked about at the next check (a task pushed after the last
   * re-send of all would otherwise wait {@code resend-after}); returns how many are queued.
   */
  int checkAllQueuedNow() {
    long now = clock.getAsLong();
    int[] count = {0};
    window.forEach(
        task -> {
          if (task.stage == PendingTask.QUEUED) {
            if (task.checkAt - now > 0) {
              task.checkAt = now;
            }
            count[0]++;
          }
        });
    return count[0];
  }

  /** Within {@code loss-check-window} of the last {@link #startLossChecks}. */
  boolean inLossWindow() {
    return clock.getAsLong() - lossChecksUntil < 0;
  }

  /**
   * Opens (or extends) the loss window. True when the flow must schedule a loss check: checks are
   * on and no loss window was open (an open one already has its check scheduled).
   */
  boolean startLossChecks() {
    if (resendAfterNanos == 0) {
      return false;
    }
    long now = clock.getAsLong();
    boolean ticking = now - lossChecksUntil < 0;
    lossChecksUntil = now + lossWindowNanos;
    return !ticking;
  }

  /**
   * Puts the task in the outbox; it is checked again after resend-after, like a task sent for the
   * first time.
   */
  private void resend(PendingTask task, long now, List<TaskEnvelope> outbox) {
    outbox.add(task.envelope);
    task.asked = false;
    task.checks = 0;
    task.checkAt = resendAfterNanos == 0 ? Long.MAX_VALUE : now + resendAfterNanos;
  }
}
