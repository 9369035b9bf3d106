package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The load generator's progress line ({@code load: progress ...}). */
class LoadTallyTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void theRateIsTakenOverTheSubmissionWindowOnceItEnded() {
    // an operator's trial: during --wait-proven the line's rate= kept falling (submissions over
    // the time since the start, proofs' wait included)
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    LoadTally tally =
        new LoadTally(
            new LoadRun.Settings(
                20, Duration.ofSeconds(10), 0, null, Duration.ofMinutes(1), Duration.ofSeconds(5)),
            new LoadRecord(null),
            new PrintStream(bytes, true, StandardCharsets.UTF_8));
    for (int i = 0; i < 200; i++) {
      tally.countSubmitted();
    }
    tally.printProgress(0, 5 * SECOND, false); // still sending
    tally.windowEnded(10 * SECOND);
    tally.printProgress(0, 40 * SECOND, false); // waiting for proofs
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(2, lines.size(), String.join("\n", lines));
    assertEquals(
        "rate=40.0/s",
        lines.get(0).replaceAll(".* (rate=\\S+).*", "$1"),
        "200 in 5 s: " + lines.get(0));
    assertEquals(
        "rate=20.0/s (window over after 10s: waiting for answers and proofs)",
        lines.get(1).replaceAll(".* (rate=.*)", "$1"),
        "200 in the 10 s window, not in 40 s: " + lines.get(1));
    assertEquals("t=40s", lines.get(1).split(" ")[2]);

    // once the wait has looked at the chain, its lines say how many are proven
    tally.provenSoFar(120, 190);
    tally.printProgress(0, 45 * SECOND, false);
    String waiting = bytes.toString(StandardCharsets.UTF_8).lines().toList().get(2);
    assertEquals(
        "rate=20.0/s (window over after 10s: waiting for answers and proofs; proven 120/190)",
        waiting.replaceAll(".* (rate=.*)", "$1"),
        waiting);
  }
}
