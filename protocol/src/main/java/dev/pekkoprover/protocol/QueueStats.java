package dev.pekkoprover.protocol;

import java.util.Map;

/**
 * The queue's counters: per type, and for results it could not place.
 *
 * @param types per task type
 * @param workers workers currently known to the queue
 * @param unknownResults results for a task the queue does not hold (late, duplicate or made up), dropped
 * @param repeatedEnqueues enqueues of a task the queue already held (a flow re-sending an overdue task), ignored
 */
public record QueueStats(Map<String, TypeStats> types, int workers, long unknownResults, long repeatedEnqueues)
    implements CborSerializable {

  public TypeStats of(String taskType) {
    return types.getOrDefault(taskType, TypeStats.EMPTY);
  }

  /**
   * @param pending waiting for a worker (including ones waiting out a retry backoff)
   * @param inFlight handed to a worker, result not yet back
   * @param completed results passed on to their flow
   * @param failed tasks given up on (failure after the last attempt, or not retryable)
   * @param redelivered put back after a worker died, declined or overran its lease
   * @param retried put back after a failed compute
   * @param rejected refused at enqueue
   */
  public record TypeStats(
      long pending, long inFlight, long completed, long failed, long redelivered, long retried, long rejected)
      implements CborSerializable {
    public static final TypeStats EMPTY = new TypeStats(0, 0, 0, 0, 0, 0, 0);
  }
}
