package dev.pekkoprover.protocol;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The sequencer's flows, for the status API: counts, each running flow's progress and the recent
 * failed flows.
 *
 * @param runId the sequencer's run
 * @param started start-up is done (circuits compiled, registration loop running)
 * @param running flows running now (start-up flows aside)
 * @param completed flows that completed since the run started
 * @param failed flows that failed since the run started
 * @param flows the running flows, oldest first, at most {@link #LISTED}; each that did not answer
 *     in time is left out
 * @param recentFailures failed flows, newest first
 * @param problems what the sequencer cannot do now, one line each (a durable store whose database
 *     does not confirm writes); empty when nothing is wrong
 */
public record FlowsView(
    String runId,
    boolean started,
    int running,
    long completed,
    long failed,
    List<FlowProgress> flows,
    List<RecentFailure> recentFailures,
    List<String> problems)
    implements CborSerializable {

  /** Without problems. */
  public FlowsView(
      String runId,
      boolean started,
      int running,
      long completed,
      long failed,
      List<FlowProgress> flows,
      List<RecentFailure> recentFailures) {
    this(runId, started, running, completed, failed, flows, recentFailures, List.of());
  }

  /** A view from a sequencer of an earlier build, without the field, has no problems. */
  public FlowsView {
    problems = problems == null ? List.of() : problems;
  }

  /** These counts and flows with {@code problems}. */
  public FlowsView withProblems(List<String> problems) {
    return new FlowsView(
        runId, started, running, completed, failed, flows, recentFailures, List.copyOf(problems));
  }

  /** Running flows listed at most: a status page shows a screenful, the counts tell the rest. */
  public static final int LISTED = 100;

  /**
   * One running flow.
   *
   * @param tasksPushed tasks its logic pushed so far
   * @param tasksAnswered of those, tasks whose outcome came back
   * @param runningMillis since it started
   */
  public record FlowProgress(
      String flowId, long tasksPushed, long tasksAnswered, long runningMillis)
      implements CborSerializable {}

  /** These counts with {@code progress} as the flows listed, longest running first. */
  public FlowsView withFlows(List<FlowProgress> progress) {
    List<FlowProgress> sorted = new ArrayList<>(progress);
    sorted.sort(Comparator.comparingLong(FlowProgress::runningMillis).reversed());
    return new FlowsView(
        runId, started, running, completed, failed, List.copyOf(sorted), recentFailures, problems);
  }
}
