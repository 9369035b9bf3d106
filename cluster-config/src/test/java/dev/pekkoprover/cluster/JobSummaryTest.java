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

  /**
   * A trial's resumed run: the restored line stood between the 'reused' line and the per-type list
   * that breaks it down. The list comes right under its line; the restored line after it.
   */
  @Test
  void theReusedPerTypeListComesRightUnderItsLineAndTheRestoredLineAfter() {
    AppchainJob.Summary resumed =
        new AppchainJob.Summary(
            20,
            160,
            0,
            Map.of("BlockProvingTask", 15L),
            Duration.ofSeconds(4),
            "ab",
            "ab",
            "cd",
            "cd",
            List.of(),
            new AppchainJob.Reuse(
                1,
                5,
                40,
                795,
                new java.util.TreeMap<>(
                    Map.of("RuntimeProvingTask", 400L, "StateTransitionTask", 395L)),
                "store"));
    String text = resumed.render();
    assertTrue(
        text.contains(
            "reused            1 batch proof(s) and 795 task result(s) from the store\n"
                + "  RuntimeProvingTask             400 reused\n"
                + "  StateTransitionTask            395 reused\n"
                + "restored          5 block(s) of 40 transaction(s) in those batch proofs; their"
                + " tasks did not run\n"
                + "result store      store\n"),
        text);
  }
}
