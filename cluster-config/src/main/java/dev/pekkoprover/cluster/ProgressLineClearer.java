package dev.pekkoprover.cluster;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code %clearProgress} in {@code logback.xml}: while {@link JobProgress}'s bar is drawn on the
 * terminal, a log line first erases the bar's line (carriage return, erase to the end of the line),
 * so that it does not run on from the bar's text; the bar is drawn again below it at its next tick.
 * Empty otherwise, and always when standard error is not a terminal (a log redirected to a file
 * gets no escape codes).
 */
public final class ProgressLineClearer extends ClassicConverter {
  private static final String ERASE = "\r\033[K";
  private static final boolean STDERR_TERMINAL = stderrIsTerminal();
  private static volatile boolean shown;

  static void barShown(boolean drawn) {
    shown = drawn;
  }

  /**
   * What erases the progress bar's line before a line of one's own on standard output, where the
   * bar is drawn: empty when no bar is shown.
   */
  static String eraseBar() {
    return shown ? ERASE : "";
  }

  @Override
  public String convert(ILoggingEvent event) {
    return shown && STDERR_TERMINAL ? ERASE : "";
  }

  /**
   * Linux tells through /proc; elsewhere assume the terminal the bar is on (it is drawn only on
   * one).
   */
  private static boolean stderrIsTerminal() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
    } catch (Exception | LinkageError unknown) {
      return true;
    }
  }
}
