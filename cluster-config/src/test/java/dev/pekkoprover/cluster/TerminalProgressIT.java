package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, item 6: the main job on a terminal draws one progress bar in place (carriage return and
 * erase-line, no once-a-second lines), other lines go above it, and it ends on the full bar before
 * the summary. The terminal is a pseudo-terminal from util-linux's {@code script} (Debian's
 * essential bsdutils), so that {@code System.console()} is not null as in an operator's shell. (Not
 * on a terminal, the lines: {@code MainJobIT}.)
 */
class TerminalProgressIT {
  private static final String ERASE = "\r\033[K";

  @Test
  void onATerminalTheMainJobRedrawsOneBarInPlace() throws Exception {
    String jar =
        Path.of(System.getProperty("prover.jar", "target/prover-node.jar"))
            .toAbsolutePath()
            .toString();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path log = Files.createTempFile("terminal-progress", ".txt");
    // script runs the command on a new pseudo-terminal (-q quiet, -f flush, -e its exit code, -c
    // the command)
    Process process =
        new ProcessBuilder(
                "script",
                "-qfec",
                "'"
                    + java
                    + "' -Xmx256m -jar '"
                    + jar
                    + "' run --blocks 20 --txs 16 --proving-work 20000",
                "/dev/null")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      assertTrue(process.waitFor(300, TimeUnit.SECONDS), "the main job ends within five minutes");
      String output = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, process.exitValue(), output);
      assertTrue(output.contains("RESULT OK"), output);
      assertFalse(
          output.contains("proving: blocks"), "no once-a-second lines on a terminal:\n" + output);

      Matcher bars =
          Pattern.compile(
                  Pattern.quote(ERASE)
                      + "\\[[#.]+\\] (\\d+)/20 blocks, [\\d,]+ pending, [\\d,]+ "
                      + "in flight, (- |[\\d,]+ )tasks/s, (ETA [^\\r\\n]+|done)")
              .matcher(output);
      int drawn = 0;
      String last = null;
      while (bars.find()) {
        drawn++;
        last = bars.group().substring(ERASE.length());
      }
      assertTrue(drawn >= 1, "the bar was drawn:\n" + output);
      assertTrue(
          last.contains(
                  "[" + "#".repeat(last.indexOf(']') - last.indexOf('[') - 1) + "] 20/20 blocks")
              && last.endsWith(", done"),
          "it ends on the full bar: " + last);
      // the line before proving is printed above the bar, which ends with a new line before the
      // summary
      assertTrue(output.contains(ERASE + "produced 20 blocks"), output);
      assertTrue(Pattern.compile(", done\\r?\\n== summary ==").matcher(output).find(), output);
      for (String line : output.split("\n")) {
        String visible =
            line.substring(
                line.lastIndexOf(ERASE) < 0 ? 0 : line.lastIndexOf(ERASE) + ERASE.length());
        if (visible.startsWith("[")) {
          assertTrue(visible.strip().length() <= 79, "the bar fits 80 columns: " + visible);
        }
      }
    } finally {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
      Files.deleteIfExists(log);
    }
  }
}
