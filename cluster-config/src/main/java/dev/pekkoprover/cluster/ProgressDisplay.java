package dev.pekkoprover.cluster;

import dev.pekkoprover.protocol.QueueStats;
import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Where a job's progress goes: {@link Lines} when the output is not a terminal, the {@link Bar}
 * redrawn in place when it is. Called from the job's thread, the ticker and cluster events.
 */
interface ProgressDisplay {
  void progress(QueueStats stats, JobProgress.Snapshot now, boolean last);

  /** A wait; {@code due}: the lines say it now (the bar shows every one). */
  void waiting(String what, boolean due);

  /** The wait is over: a line saying so (the bar comes back at the next tick). */
  void waitEnded(String line);

  void event(String line);

  default void close() {}

  /** Not a terminal: the lines as they always were, a wait when due, events as they come. */
  static final class Lines implements ProgressDisplay {
    private final PrintStream out;

    /** The types the lines showed so far, in their order: each keeps its place. */
    private final Set<String> shown = new LinkedHashSet<>();

    Lines(PrintStream out) {
      this.out = out;
    }

    @Override
    public synchronized void progress(QueueStats stats, JobProgress.Snapshot now, boolean last) {
      out.println(
          JobProgress.AppchainProgressLine.render(
              stats, now.proven(), now.blocks(), now.computed(), now.reused(), shown));
    }

    @Override
    public synchronized void waiting(String what, boolean due) {
      if (due) {
        out.println(what);
      }
    }

    @Override
    public synchronized void waitEnded(String line) {
      out.println(line);
    }

    @Override
    public synchronized void event(String line) {
      out.println(line);
    }
  }

  /** A terminal: one line redrawn in place; other lines are printed above it. */
  static final class Bar implements ProgressDisplay {
    private static final String ERASE = "\r\033[K";
    private final PrintStream out;
    private final int columns;
    private String shown = "";

    Bar(PrintStream out, int columns) {
      this.out = out;
      this.columns = columns;
    }

    @Override
    public synchronized void progress(QueueStats stats, JobProgress.Snapshot now, boolean last) {
      draw(render(now, columns - 1));
      if (last) {
        out.print('\n');
        out.flush();
        shown = "";
        ProgressLineClearer.barShown(false);
      }
    }

    @Override
    public synchronized void waiting(String what, boolean due) {
      draw(fit(what, columns - 1));
    }

    @Override
    public synchronized void waitEnded(String line) {
      out.print(ERASE);
      out.println(line);
      out.flush();
      shown = "";
      ProgressLineClearer.barShown(false);
    }

    @Override
    public synchronized void event(String line) {
      out.print(ERASE);
      out.println(line);
      if (!shown.isEmpty()) {
        out.print(shown);
      }
      out.flush();
    }

    @Override
    public synchronized void close() {
      if (!shown.isEmpty()) {
        out.print('\n');
        out.flush();
        shown = "";
      }
      ProgressLineClearer.barShown(false);
    }

    private void draw(String line) {
      shown = line;
      ProgressLineClearer.barShown(true);
      out.print(ERASE + line);
      out.flush();
    }

    /**
     * {@code [#######.......] 12/20 blocks, 1,024 pending, 6 in flight, 312 tasks/s, ETA 0:07}, cut
     * to {@code width}: the bar takes what the numbers leave (5 to 30 columns; the share in per
     * cent when less is left). {@code ETA >=0:07}: a lower bound.
     */
    static String render(JobProgress.Snapshot s, int width) {
      String rate =
          Double.isNaN(s.tasksPerSecond())
              ? "- tasks/s"
              : String.format(Locale.ROOT, "%,.0f tasks/s", s.tasksPerSecond());
      String eta =
          s.eta() == null
              ? "ETA ?"
              : s.eta().isZero() ? "done" : "ETA " + (s.etaAtLeast() ? ">=" : "") + clock(s.eta());
      String text =
          String.format(
              Locale.ROOT,
              " %d/%d blocks, %,d pending, %,d in flight, %s, %s",
              s.proven(),
              s.blocks(),
              s.pending(),
              s.inFlight(),
              rate,
              eta);
      int room = width - text.length() - 2;
      if (room < 5) { // a narrow terminal, large numbers: the share in figures instead of a bar
        return fit((s.blocks() == 0 ? 0 : s.proven() * 100 / s.blocks()) + "%" + text, width);
      }
      int barWidth = Math.min(30, room);
      int filled =
          s.blocks() == 0 ? 0 : (int) Math.min(barWidth, s.proven() * barWidth / s.blocks());
      String bar = "[" + "#".repeat(filled) + ".".repeat(barWidth - filled) + "]";
      return fit(bar + text, width);
    }

    static String clock(Duration d) {
      long s = d.toSeconds();
      return s >= 3600
          ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
          : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }

    static String fit(String line, int width) {
      return line.length() <= width ? line : line.substring(0, Math.max(0, width - 3)) + "...";
    }
  }
}
