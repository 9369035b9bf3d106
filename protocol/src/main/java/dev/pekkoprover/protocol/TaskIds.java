package dev.pekkoprover.protocol;

/**
 * The shape of a task id: {@code <flowId>:<sequence>}, the id of the flow that pushed the task, a
 * colon, and the task's number within that flow in decimal without sign or leading zeros, counted
 * from 1 in push order (e.g. {@code block-7-12:3}). The registration loop numbers its offers the
 * same way under its own flow id.
 *
 * <p>Who relies on it: a flow finds a pending task from the id in an outcome or a {@link
 * MissingTasks} answer by {@link #sequenceIn} (no table from id to task); the queue only compares
 * ids (a task id it holds is not enqueued twice), so an id must be unique per run, which flow ids
 * unique per run make it. Task ids stand in logs, in the queue's entity state and in tests'
 * expectations: the shape is a wire format and does not change.
 */
public final class TaskIds {
  private TaskIds() {}

  /**
   * The id of task number {@code sequence} of flow {@code flowId}: one string, nothing else
   * allocated.
   *
   * @param sequence 1 for the flow's first task; not negative
   */
  public static String of(String flowId, long sequence) {
    return flowId + ":" + sequence;
  }

  /**
   * The sequence number in {@code taskId} when it is an id of flow {@code flowId} ({@link #of}); -1
   * for an id of another flow or of another shape, or a number within 10 of {@code Long.MAX_VALUE}
   * or beyond (no flow pushes that many). Allocates nothing.
   */
  public static long sequenceIn(String taskId, String flowId) {
    int prefix = flowId.length();
    if (taskId.length() <= prefix + 1
        || taskId.charAt(prefix) != ':'
        || !taskId.startsWith(flowId)) {
      return -1;
    }
    long n = 0;
    for (int i = prefix + 1; i < taskId.length(); i++) {
      char c = taskId.charAt(i);
      if (c < '0' || c > '9' || n > (Long.MAX_VALUE - 9) / 10) {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }
}
