package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Issue 10, item 3: the embedded default, a real process of the jar. Killed with SIGKILL in the
 * middle of proving and started again with the same command, it resumes (it says from which block
 * and how many results it reused) and ends RESULT OK; on a fresh directory it starts anew; --fresh
 * starts anew on a used one.
 */
class DurableRunIT {
  /**
   * Enough work that a kill lands in the middle: 8 blocks of 16 transactions in batches of 2 (about
   * 430 tasks), 100k hash iterations (about 0.1 s) per proof, on 2 workers x 2.
   */
  private static final String[] JOB = {
    "--blocks", "8", "--txs", "16", "--batch", "2", "--proving-work", "100000"
  };

  private static final Pattern DONE = Pattern.compile(" (\\w+Task)=(\\d+)");
  private static final Pattern REUSED =
      Pattern.compile(
          "reused +(\\d+) batch proof\\(s\\) and (\\d+) task result\\(s\\) from the store");
  private static final Pattern PROVEN = Pattern.compile("^proving: blocks (\\d+)/8 proven");
  private static final Pattern TASK_LINE = Pattern.compile("^  (\\w+Task) +(\\d+)$");

  private static List<String> command(Path data, String... extra) {
    List<String> args = new ArrayList<>(List.of("run", "--data-dir", data.toString()));
    args.addAll(List.of(JOB));
    args.addAll(List.of(extra));
    return args;
  }

  /** Tasks done so far, from a progress line, compilation excluded. */
  private static long tasksDone(String progress) {
    long total = 0;
    Matcher done = DONE.matcher(progress);
    while (done.find()) {
      if (!done.group(1).equals("CircuitCompilerTask")) {
        total += Long.parseLong(done.group(2));
      }
    }
    return total;
  }

  /** Tasks computed by the run, from its summary (its flows' counts), compilation excluded. */
  private static long tasksComputed(String output) {
    long total = 0;
    for (String line : output.split("\n")) {
      Matcher task = TASK_LINE.matcher(line);
      if (task.matches() && !task.group(1).equals("CircuitCompilerTask")) {
        total += Long.parseLong(task.group(2));
      }
    }
    return total;
  }

  /**
   * The embedded service stopped with SIGTERM: one line that says where its chain is, and exit 0,
   * not the signal's 143, which a supervisor would count as a failure.
   */
  @Test
  void theServiceStoppedWithSigtermSaysWhereItsChainIsAndExitsZero() throws Exception {
    Path data = Files.createTempDirectory("run-service");
    try (NodeProcesses processes = new NodeProcesses(NodeProcesses.logDirectory("DurableRunIT"))) {
      List<String> command =
          List.of(
              "run",
              "--service",
              "--data-dir",
              data.toString(),
              "--workers",
              "1",
              "--http-port",
              "" + NodeProcesses.freePort());
      NodeProcesses.Node service = processes.launch(command.toArray(String[]::new));
      assertTrue(
          service.awaitLine(line -> line.startsWith("appchain service: height 0,"), 120),
          service.output());
      // SIGTERM through the handle: Process.destroy() would also close our end of its output
      service.process().toHandle().destroy();
      assertTrue(service.awaitExit(90), service.output());
      assertEquals(0, service.process().exitValue(), service.output());
      assertTrue(
          service.awaitLine(
              line ->
                  line.equals(
                      "appchain service stopped: every transaction it accepted is in "
                          + data
                          + "; the same command goes on"),
              10),
          service.output());
    } finally {
      delete(data);
    }
  }

  /**
   * A bounded job stopped with SIGTERM mid-proving: one line that says what is kept and that the
   * same command goes on, the signal's exit code (the job did not finish), and no WARN or ERROR
   * (H2's own exit hook closed the journal under the store's last write: a closed-session WARN and
   * a failed write with a damaged journal's remedy, before DB_CLOSE_ON_EXIT=FALSE).
   */
  @Test
  void aJobStoppedWithSigtermSaysWhatIsKeptAndLogsNoFailure() throws Exception {
    Path data = Files.createTempDirectory("run-stopped");
    try (NodeProcesses processes = new NodeProcesses(NodeProcesses.logDirectory("DurableRunIT"))) {
      NodeProcesses.Node run = processes.launch(command(data).toArray(String[]::new));
      assertTrue(
          run.awaitLine(line -> line.startsWith("proving:") && tasksDone(line) >= 100, 180),
          run.output());
      int before = run.lines().size();
      run.process().toHandle().destroy(); // SIGTERM
      assertTrue(run.awaitExit(90), run.output());
      assertEquals(143, run.process().exitValue(), run.output());
      assertTrue(
          run.awaitLine(
              line ->
                  line.equals(
                      "run stopped by SIGTERM before the job ended: every task result and batch"
                          + " proof the journal confirmed is kept in "
                          + data
                          + "; the same command goes on from them (what was in flight is computed"
                          + " again)"),
              10),
          run.output());
      List<String> all = new ArrayList<>(run.lines());
      List<String> atStop = all.subList(before, all.size());
      assertTrue(
          atStop.stream().noneMatch(line -> line.contains(" WARN ") || line.contains(" ERROR ")),
          String.join("\n", atStop));
    } finally {
      delete(data);
    }
  }

  @Test
  void killedMidRunAndRunAgainItResumesSaysWhatItReusedAndEndsOk() throws Exception {
    Path data = Files.createTempDirectory("durable-run");
    try (NodeProcesses processes = new NodeProcesses(NodeProcesses.logDirectory("DurableRunIT"))) {
      NodeProcesses.Node fresh = processes.launch(command(data).toArray(String[]::new));
      assertTrue(fresh.awaitLine(line -> line.contains("new: starting anew"), 60), fresh.output());
      assertTrue(
          fresh.awaitLine(line -> line.contains("nothing stored yet: proving from block"), 120),
          fresh.output());
      // kill -9 once a third of the tasks are done, long before the end
      String[] killedAt = new String[1];
      assertTrue(
          fresh.awaitLine(
              line -> {
                if (line.startsWith("proving:") && tasksDone(line) >= 150) {
                  killedAt[0] = line;
                  return true;
                }
                return false;
              },
              180),
          fresh.output());
      assertTrue(
          fresh.process().isAlive(), "the run was still proving when killed:\n" + fresh.output());
      fresh.process().destroyForcibly(); // SIGKILL
      assertTrue(fresh.awaitExit(30));
      assertTrue(fresh.output().lines().noneMatch(line -> line.contains("RESULT")), fresh.output());

      NodeProcesses.Node resumed = processes.launch(command(data).toArray(String[]::new));
      assertTrue(resumed.awaitExit(300), resumed.output());
      String output = resumed.output();
      assertEquals(0, resumed.process().exitValue(), output);
      assertTrue(
          Pattern.compile(
                  "a journal is there \\([\\d,]+ MB, compacted to [\\d,]+ MB in [\\d.]+ s\\): resuming")
              .matcher(output)
              .find(),
          "the journal the kill left is compacted, then resumed:\n" + output);
      Matcher resuming =
          Pattern.compile(
                  "resuming: \\d+ of 4 batch proof\\(s\\) stored.*; the store holds (\\d+) task "
                      + "result\\(s\\) of this and earlier jobs, reused where they match; proving "
                      + "from block \\d+")
              .matcher(output);
      assertTrue(resuming.find(), "says from which block it goes on:\n" + output);
      // every result the progress showed as done before the kill is in the store after it: a
      // confirmed write lost to the kill or the recovery would show here (whether the count waits
      // for confirmation shows only while the database is down: DatabaseOutageIT)
      long stored = Long.parseLong(resuming.group(1));
      assertTrue(
          stored >= tasksDone(killedAt[0]),
          "the store holds "
              + stored
              + " results, fewer than the killed run's progress showed as done: "
              + killedAt[0]);
      Matcher reused = REUSED.matcher(output);
      assertTrue(reused.find(), output);
      long batches = Long.parseLong(reused.group(1));
      long results = Long.parseLong(reused.group(2));
      assertTrue(batches + results > 0, "reused what the killed run stored:\n" + output);
      // the progress does not start from nothing
      String first =
          output.lines().filter(line -> line.startsWith("proving:")).findFirst().orElseThrow();
      Matcher proven = PROVEN.matcher(first);
      assertTrue(proven.find(), first);
      assertTrue(
          Long.parseLong(proven.group(1)) >= 2 * batches,
          "the stored batches' blocks are proven from the first line: " + first);
      // the flows take their reused results as they start, in parallel: within the first lines
      // on a loaded machine, never from 0 up again as a fresh run would
      List<String> firstLines =
          output.lines().filter(line -> line.startsWith("proving:")).limit(3).toList();
      assertTrue(
          firstLines.stream().anyMatch(line -> tasksDone(line) >= results),
          "the reused results (" + results + ") are done from the first lines: " + firstLines);
      assertTrue(output.contains("RESULT OK"), output);
      assertTrue(output.contains("proving: blocks 8/8 proven"), output);
      // computed and reused add up to the chain's, less what whole restored batches held
      NodeProcesses.assertTaskCountsMatchTheChain(output, 8);

      // the same job on a fresh directory computes everything: more than the resumed run did
      Path other = Files.createTempDirectory("durable-run-fresh");
      NodeProcesses.Node anew = processes.launch(command(other).toArray(String[]::new));
      assertTrue(anew.awaitExit(300), anew.output());
      assertEquals(0, anew.process().exitValue(), anew.output());
      assertTrue(anew.output().contains("new: starting anew"), anew.output());
      assertTrue(anew.output().contains("nothing stored yet: proving from block"), anew.output());
      assertTrue(
          anew.output().contains("reused            0 batch proof(s) and 0 task result(s)"),
          anew.output());
      assertTrue(
          tasksComputed(anew.output()) > tasksComputed(output),
          "the resumed run computed less than a whole run: "
              + tasksComputed(output)
              + " < "
              + tasksComputed(anew.output()));

      // --fresh on the used directory starts anew too
      NodeProcesses.Node wiped = processes.launch(command(data, "--fresh").toArray(String[]::new));
      assertTrue(wiped.awaitExit(300), wiped.output());
      assertEquals(0, wiped.process().exitValue(), wiped.output());
      assertTrue(
          wiped.output().contains("--fresh, its journal deleted: starting anew"), wiped.output());
      assertTrue(wiped.output().contains("nothing stored yet"), wiped.output());
      assertEquals(tasksComputed(anew.output()), tasksComputed(wiped.output()), wiped.output());
      delete(other);
    } finally {
      delete(data);
    }
  }

  static void delete(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(file);
      }
    }
  }
}
