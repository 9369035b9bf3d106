package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The job's summary ({@code == summary ==}). */
class JobSummaryTest {
  private static AppchainJob.Summary summary(Duration wallTime) {
    return new AppchainJob.Summary(
        20,
        160,
        0,
        Map.of("CircuitCompilerTask", 5L, "BlockProvingTask", 15L),
        wallTime,
        "ab",
        "ab",
        "cd",
        "cd",
        List.of(),
        null);
  }

  @Test
  void aRunUnderASecondHasNoRateAndALongerOneHasItsOwn() {
    // an operator's trial: a resumed run with everything stored took 0.02 s, and its handful of
    // tasks read as a rate of thousands a second
    String shortRun = summary(Duration.ofMillis(20)).render();
    assertTrue(shortRun.contains("tasks/s           - (a wall time under 1 s)\n"), shortRun);
    String run = summary(Duration.ofSeconds(4)).render();
    assertTrue(run.contains("tasks/s           5\n"), "20 tasks in 4 s: " + run);
  }
}
