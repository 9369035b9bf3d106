package dev.pekkoprover.protocol;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Something that went wrong with a task or a flow, kept for the status API: the queue keeps its
 * last few (failed for good, refused, failed and retried, put back), the sequencer its failed
 * flows.
 *
 * @param atEpochMillis when, by the clock of the node that saw it
 * @param kind {@code failed} (given up), {@code rejected} (refused at enqueue), {@code retrying} (a
 *     compute failed and runs again after a backoff), {@code put back} (its worker went away,
 *     declined it or overran its lease), {@code flow failed}, {@code flow cancelled} (by its
 *     caller)
 * @param taskType null for a flow
 * @param taskId null for a flow
 * @param workerId the worker involved, or null
 * @param reason what happened, as in the log line
 */
public record RecentFailure(
    long atEpochMillis,
    String kind,
    String taskType,
    String taskId,
    String flowId,
    String workerId,
    String reason)
    implements CborSerializable {

  /** How many each party keeps, and how many a merged view shows. */
  public static final int KEEP = 20;

  /** The newest {@code limit} of several lists, newest first. */
  public static List<RecentFailure> newest(List<List<RecentFailure>> lists, int limit) {
    List<RecentFailure> all = new ArrayList<>();
    lists.forEach(all::addAll);
    all.sort(Comparator.comparingLong(RecentFailure::atEpochMillis).reversed());
    return List.copyOf(all.subList(0, Math.min(limit, all.size())));
  }
}
