package dev.pekkoprover.protocol;

import java.util.Map;

/**
 * The queue's counters: per type, and for results it could not place.
 *
 * @param types per task type
 * @param workers workers currently known to the queue
 * @param unknownResults results for a task the queue does not hold (late, duplicate or made up),
 *     dropped
 * @param repeatedEnqueues enqueues of a task the queue already held (a flow re-sending an overdue
 *     task), ignored
 */
public record QueueStats(
    Map<String, TypeStats> types, int workers, long unknownResults, long repeatedEnqueues)
    implements CborSerializable {

  public TypeStats of(String taskType) {
    return types.getOrDefault(taskType, TypeStats.EMPTY);
  }

  /**
   * @param pending waiting for a worker (including ones waiting out a retry backoff)
   * @param inFlight handed to a worker, result not yet back
   * @param completed results passed on to their flow
   * @param failed tasks given up on (attempts or worker losses used up, or a failure that is not
   *     retryable)
   * @param redelivered put back for any reason but a failed compute: the sum of declined, lost and
   *     leaseOverruns
   * @param retried put back after a failed compute
   * @param rejected refused at enqueue
   * @param declined put back because the worker declined them: it did not serve the type in its
   *     state, or (in a cluster) the task waited there for a slot another queue entity had filled
   *     and was withdrawn for a worker with room (the metric {@code prover_tasks_redelivered_total}
   *     tells the two apart by {@code reason}: {@code declined}, {@code no_free_slot})
   * @param lost put back because their worker went away: stopped, crashed, restarted, unreachable
   *     or removed, or the dispatch or report was lost between nodes
   * @param leaseOverruns put back because a worker held them longer than their lease
   */
  public record TypeStats(
      long pending,
      long inFlight,
      long completed,
      long failed,
      long redelivered,
      long retried,
      long rejected,
      long declined,
      long lost,
      long leaseOverruns)
      implements CborSerializable {
    public static final TypeStats EMPTY = new TypeStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /**
     * Counter-wise sum (pending and in flight too): what several entities of one type hold
     * together.
     */
    public TypeStats plus(TypeStats other) {
      return new TypeStats(
          pending + other.pending,
          inFlight + other.inFlight,
          completed + other.completed,
          failed + other.failed,
          redelivered + other.redelivered,
          retried + other.retried,
          rejected + other.rejected,
          declined + other.declined,
          lost + other.lost,
          leaseOverruns + other.leaseOverruns);
    }
  }
}
