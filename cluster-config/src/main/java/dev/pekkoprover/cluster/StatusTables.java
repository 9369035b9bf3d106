package dev.pekkoprover.cluster;

import dev.pekkoprover.node.StatusReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders a {@link StatusReport} as the plain-text tables {@code prover-node status} prints. */
final class StatusTables {
  private StatusTables() {}

  /** Cells longer than this are cut (a worker class of nine type names, a long failure reason). */
  static final int MAX_CELL = 48;

  static final int MAX_REASON = 120;

  /**
   * Where the sequencer runs: on a node with role sequencer {@code sequencer active}, {@code
   * sequencer starting here} or {@code sequencer standby (runs on host:port)}; on another node
   * {@code sequencer on host:port}; empty while no node with role sequencer is Up and for an older
   * node's report without the fields.
   */
  static String sequencerCell(StatusReport.NodeInfo node) {
    if (node.sequencer() == null) {
      return node.sequencerNode() == null ? "" : "  sequencer on " + node.sequencerNode();
    }
    String where = "";
    if ("starting".equals(node.sequencer())) {
      where = " here";
    } else if ("standby".equals(node.sequencer()) && node.sequencerNode() != null) {
      // an earlier build's report says standby where this one says starting
      where =
          node.sequencerNode().equals(node.address())
              ? " (starting here)"
              : " (runs on " + node.sequencerNode() + ")";
    }
    return "  sequencer " + node.sequencer() + where;
  }

  static String render(StatusReport report) {
    StringBuilder out = new StringBuilder();
    StatusReport.NodeInfo node = report.node();
    out.append(
        String.format(
            Locale.ROOT,
            "node %s  roles %s  member %s  ready %s%s%s%n",
            node.address(),
            String.join(",", node.roles()),
            node.memberStatus(),
            node.ready() ? "yes" : "no",
            node.ready() ? "" : " (" + node.readyReason() + ")",
            sequencerCell(node)));

    out.append(String.format(Locale.ROOT, "%nworkers: %d%n", report.workers().size()));
    Table workers =
        new Table(
            "ID",
            "NODE",
            "STATE",
            "CLASS",
            "CAP",
            "IN FLIGHT",
            "DONE",
            "FAILED",
            "RESTARTS",
            "LAST HEARD");
    for (StatusReport.WorkerRow w : report.workers()) {
      workers.row(
          w.id(),
          w.node(),
          w.state()
              + (w.reachable() ? "" : " (unreachable)")
              + (w.refused() == null ? "" : " (refused)"),
          String.join("+", w.workerClass()),
          w.capacity(),
          w.inFlight(),
          w.done(),
          w.failed(),
          w.restarts(),
          String.format(Locale.ROOT, "%.1f s ago", w.lastHeardSecondsAgo()));
    }
    workers.appendTo(out);

    if (!report.departedWorkers().isEmpty()) {
      out.append(
          String.format(
              Locale.ROOT, "%nleft in the last 10 minutes: %d%n", report.departedWorkers().size()));
      Table departed =
          new Table("ID", "NODE", "CLASS", "LAST STATE", "HOW", "LEFT", "DONE", "FAILED");
      for (StatusReport.DepartedRow d : report.departedWorkers()) {
        departed.row(
            d.id(),
            d.node(),
            String.join("+", d.workerClass()),
            d.lastState(),
            d.how(),
            String.format(Locale.ROOT, "%.0f s ago", d.leftSecondsAgo()),
            d.done(),
            d.failed());
      }
      departed.appendTo(out);
    }

    out.append(String.format(Locale.ROOT, "%nqueues%n"));
    Table queues =
        new Table(
            "TYPE",
            "PENDING",
            "IN FLIGHT",
            "DONE",
            "FAILED",
            "RETRIED",
            "LOST",
            "DECLINED",
            "WORKERS",
            "MEAN RUN",
            "OLDEST WAIT");
    double asOf = -1; // the oldest of the rows shown as they last answered
    for (StatusReport.QueueRow q : report.queues()) {
      if (q.lastAnsweredSecondsAgo() != null) {
        asOf = Math.max(asOf, q.lastAnsweredSecondsAgo());
      }
      queues.row(
          q.lastAnsweredSecondsAgo() == null ? q.taskType() : q.taskType() + " *",
          q.pending(),
          q.inFlight(),
          q.completed(),
          q.failed(),
          q.retried(),
          q.lost() + q.leaseOverruns(),
          q.declined(),
          q.workers(),
          q.meanRunSeconds() == null ? "-" : seconds(q.meanRunSeconds()),
          q.pending() == 0 ? "-" : seconds(q.oldestPendingSeconds()));
    }
    queues.appendTo(out);
    if (asOf >= 0) {
      out.append(
          String.format(
              Locale.ROOT,
              "* as its queue last answered, up to %d s ago: its queue node did not answer in time"
                  + " (see problems)%n",
              Math.max(1, Math.round(asOf))));
    }

    StatusReport.FlowsInfo flows = report.flows();
    if (!flows.available()) {
      out.append(String.format(Locale.ROOT, "%nflows: no sequencer answered%n"));
    } else {
      out.append(
          String.format(
              Locale.ROOT,
              "%nflows: run %s%s; %d running, %d completed, %d failed%n",
              flows.runId(),
              flows.started() ? "" : " (still starting)",
              flows.running(),
              flows.completed(),
              flows.failed()));
      if (!flows.list().isEmpty()) {
        Table list = new Table("FLOW", "TASKS PUSHED", "ANSWERED", "RUNNING");
        for (StatusReport.FlowRow f : flows.list()) {
          list.row(f.flowId(), f.tasksPushed(), f.tasksAnswered(), seconds(f.runningSeconds()));
        }
        list.appendTo(out);
      }
    }

    if (!report.autoscale().isEmpty()) {
      out.append(
          String.format(
              Locale.ROOT, "%nautoscale (per worker class: work queued and in flight)%n"));
      Table classes = new Table("CLASS", "WORKERS", "OUTSTANDING", "NEEDED");
      for (StatusReport.ClassRow c : report.autoscale()) {
        classes.row(
            c.workerClass(),
            c.workers(),
            String.format(Locale.ROOT, "%.1f worker-s", c.outstandingWorkerSeconds()),
            c.workersNeeded());
      }
      classes.appendTo(out);
    }

    if (!report.recentFailures().isEmpty()) {
      out.append(String.format(Locale.ROOT, "%nrecent failures (newest first)%n"));
      Table failures = new Table("AT", "KIND", "TYPE", "TASK / FLOW", "WORKER", "REASON");
      for (StatusReport.FailureRow f : report.recentFailures()) {
        failures.row(
            f.at(),
            f.kind(),
            f.taskType() == null ? "-" : f.taskType(),
            f.taskId() == null ? f.flowId() : f.taskId(),
            f.workerId() == null ? "-" : f.workerId(),
            cut(f.reason(), MAX_REASON));
      }
      failures.appendTo(out);
    }
    for (String problem : report.problems()) {
      out.append(String.format(Locale.ROOT, "%nproblem: %s", problem));
    }
    if (!report.problems().isEmpty()) {
      out.append(System.lineSeparator());
    }
    return out.toString();
  }

  private static String seconds(double value) {
    return String.format(Locale.ROOT, value < 10 ? "%.3f s" : "%.1f s", value);
  }

  static String cut(String text, int max) {
    if (text == null) {
      return "-";
    }
    String line = text.replace('\n', ' ');
    return line.length() <= max ? line : line.substring(0, max - 3) + "...";
  }

  /** Columns as wide as their widest cell, two spaces apart; numbers right-aligned. */
  private static final class Table {
    private final String[] headers;
    private final List<Object[]> rows = new ArrayList<>();

    Table(String... headers) {
      this.headers = headers;
    }

    void row(Object... cells) {
      rows.add(cells);
    }

    void appendTo(StringBuilder out) {
      if (rows.isEmpty()) {
        out.append("  (none)").append(System.lineSeparator());
        return;
      }
      int[] widths = new int[headers.length];
      for (int i = 0; i < headers.length; i++) {
        widths[i] = headers[i].length();
        for (Object[] row : rows) {
          widths[i] = Math.max(widths[i], text(row[i], i == headers.length - 1).length());
        }
      }
      line(out, widths, headers, false);
      for (Object[] row : rows) {
        line(out, widths, row, true);
      }
    }

    private void line(StringBuilder out, int[] widths, Object[] cells, boolean alignNumbers) {
      StringBuilder line = new StringBuilder("  ");
      for (int i = 0; i < cells.length; i++) {
        boolean last = i == cells.length - 1;
        String cell = text(cells[i], last);
        boolean right = alignNumbers && cells[i] instanceof Number;
        String padded =
            right
                ? " ".repeat(widths[i] - cell.length()) + cell
                : last ? cell : cell + " ".repeat(widths[i] - cell.length());
        line.append(padded);
        if (!last) {
          line.append("  ");
        }
      }
      out.append(line.toString().stripTrailing()).append(System.lineSeparator());
    }

    private static String text(Object cell, boolean last) {
      String text = String.valueOf(cell);
      return last ? text : cut(text, MAX_CELL);
    }
  }
}
