package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.UnservedTypes;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.sequencer.NodeProblems;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.CompileRequest;
import dev.pekkoprover.testing.TestTasks.Keys;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 11, item 6: the job's progress. Not on a terminal, the lines: what start-up waits for (no
 * worker yet, the circuits compiling), said again with how long, and when the wait ends. On a
 * terminal, the bar's line: blocks, pending and in flight, tasks/s and the ETA, within the
 * terminal's width. (The bar on a real terminal: {@code TerminalProgressIT}; worker nodes joining
 * and leaving: {@code DashboardIT}.)
 */
@ExtendWith(LogCapturingExtension.class)
class JobProgressTest {

  /** A circuit compiler that waits for the test. */
  static final class HeldCompile extends NamedTaskType<CompileRequest, Keys> {
    final CountDownLatch release = new CountDownLatch(1);

    HeldCompile() {
      super("compile", CompileRequest.class, Keys.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public Keys compute(CompileRequest input, TaskContext context) throws Exception {
      if (!release.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never released");
      }
      return new Keys("test-key");
    }
  }

  /**
   * Polls {@code out} every 100 ms, up to {@code seconds}, until it contains {@code text}; returns
   * all of it then. The timeout names the text and shows the output.
   */
  private static String await(ByteArrayOutputStream out, String text, long seconds) {
    return Awaitility.await("'" + text + "' in the progress output")
        .atMost(Duration.ofSeconds(seconds))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> out.toString(StandardCharsets.UTF_8), said -> said.contains(text));
  }

  @Test
  void startUpSaysWhatItWaitsForAndWhenTheWaitEnds() throws Exception {
    HeldCompile compile = new HeldCompile();
    try (ProverNode node =
        ProverNode.builder("progress")
            .config(TestConfig.config(TestNodes.FAST))
            .catalog(TaskCatalog.of(compile, TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE))
            .localQueue()
            .sequencer(
                StartupPlan.of(
                    compile, List.of(new CompileRequest("square")), results -> results.get(0)))
            .start()) { // no worker yet
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
      CompletableFuture<Void> waited =
          CompletableFuture.runAsync(() -> JobProgress.awaitReady(node, out, "compile"));

      await(
          bytes,
          "waiting for workers: none has announced itself to the queue yet; the circuits are compiled on a "
              + "worker",
          10);
      await(
          bytes,
          "waiting for workers for 5 s: none has announced itself",
          15); // said again, with how long
      assertFalse(waited.isDone());

      TestNodes.await(node.addWorker(List.of(), 1));
      await(bytes, "waiting for compilation: 0/1 circuit(s) compiled, 1 on workers now", 10);
      compile.release.countDown();
      waited.get(30, TimeUnit.SECONDS);
      String said = await(bytes, "ready after waiting", 1);
      assertFalse(said.contains("proving: blocks"), said);
    }
  }

  @Test
  void aReadyNodeWaitsSilently() throws Exception {
    try (ProverNode node =
        TestNodes.node("quiet", "").workers(WorkerGroup.allTypes(1, 1)).start()) {
      TestNodes.await(node.ready());
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      JobProgress.awaitReady(node, new PrintStream(bytes, true, StandardCharsets.UTF_8), "compile");
      assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
  }

  private static FleetView.WorkerView worker(String id, boolean reachable, String... serves) {
    return new FleetView.WorkerView(
        id,
        "127.0.0.1:2552",
        "inc-" + id,
        WorkerState.READY,
        List.of(serves),
        List.of(serves),
        2,
        0,
        0,
        0,
        0,
        100,
        reachable,
        null);
  }

  private static FleetView.TypeView pending(long tasks) {
    return new FleetView.TypeView(
        new QueueStats.TypeStats(tasks, 0, 0, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 0);
  }

  /**
   * Mid-run, the only worker of a type died: the tasks of that type wait, and the progress says
   * which type needs a worker (not only when no worker at all is Ready).
   */
  @Test
  void whileProvingItNamesTheTypesNoReadyWorkerServes() {
    java.util.Map<String, FleetView.TypeView> types =
        java.util.Map.of(
            "square",
            pending(3),
            "add",
            pending(2),
            "merge",
            pending(0),
            WorkerRegistrationTask.NAME,
            pending(1));
    assertEquals(
        "waiting for workers: no Ready worker serves add (2 pending); start a worker that serves it",
        UnservedTypes.waitingLine(fleet(types, false)));
    assertNull(UnservedTypes.waitingLine(fleet(types, true)));
  }

  /**
   * The only worker configured for a type is refused as another build (a trial's): the line says
   * so, since starting a worker of that build again would not end the wait.
   */
  @Test
  void aTypeWhoseOnlyWorkerIsRefusedSaysSo() {
    FleetView.WorkerView refused =
        new FleetView.WorkerView(
            "w2",
            "127.0.0.1:2553",
            "inc-w2",
            WorkerState.READY,
            List.of(),
            List.of("add"),
            2,
            0,
            0,
            0,
            0,
            100,
            true,
            "its task catalog differs from this queue's: ...");
    FleetView fleet =
        new FleetView(
            List.of(worker("w1", true, "square"), refused),
            Map.of("square", pending(1), "add", pending(2)),
            List.of(),
            0,
            0,
            1,
            1);
    assertEquals(
        "waiting for workers: no Ready worker serves add (2 pending); start a worker that serves it"
            + " (1 worker(s) configured for it refused by the queue: /status says why)",
        UnservedTypes.waitingLine(fleet));
  }

  /**
   * Start-up with every circuit compiled, or none sent yet: the sequencer's own start is what is
   * waited for (a trial read "waiting for compilation: 5/5 circuit(s) compiled, 0 on workers now"
   * for 5 s while the result stores recovered, and "0/0" on a restarted service node).
   */
  @Test
  void startUpWithCircuitsCompiledOrNoneSentSaysTheSequencerIsStarting() {
    FleetView.TypeView compiled =
        new FleetView.TypeView(new QueueStats.TypeStats(0, 0, 5, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 0);
    FleetView.TypeView compiling =
        new FleetView.TypeView(new QueueStats.TypeStats(1, 2, 2, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 0);
    assertEquals(
        "waiting for the sequencer to start: 5/5 circuit(s) compiled; its result stores recover"
            + " first (from the journal, if durable)",
        JobProgress.startupWait(fleet(Map.of("square", compiled), true), "square", false, 0));
    assertEquals(
        "waiting for the sequencer to start: it has sent no circuit to compile yet",
        JobProgress.startupWait(fleet(Map.of("square", pending(0)), true), "square", false, 0));
    assertEquals(
        "waiting for compilation: 2/5 circuit(s) compiled, 2 on workers now",
        JobProgress.startupWait(fleet(Map.of("square", compiling), true), "square", false, 0));
    // after a takeover the queue's counts hold the earlier runs' compiles: 10 of 12 completed
    FleetView.TypeView afterTwoRuns =
        new FleetView.TypeView(new QueueStats.TypeStats(1, 2, 12, 0, 0, 0, 0, 0, 0, 0), 1, 0, 0, 0);
    assertEquals(
        "waiting for compilation: 2/5 circuit(s) compiled, 2 on workers now",
        JobProgress.startupWait(fleet(Map.of("square", afterTwoRuns), true), "square", false, 10));
    assertEquals(
        "waiting for the sequencer to start: it has sent no circuit to compile yet",
        JobProgress.startupWait(fleet(Map.of("square", compiled), true), "square", false, 5));
  }

  /**
   * Workers are known, but none serves the compile type (a new user's trial: the README's node with
   * {@code --tasks} and no other worker waited with no end): the line says what to start.
   */
  @Test
  void startUpWithNoWorkerThatCompilesSaysWhatToStart() {
    assertEquals(
        "waiting for workers: none of the 2 known serves compile: start one without --tasks, or"
            + " with it among its --tasks (the circuits are compiled on a worker)",
        JobProgress.startupWait(fleet(Map.of("square", pending(0)), true), "compile", false, 0));
  }

  /** w1 serves square; w2, add and merge, its node reachable or not. */
  private static FleetView fleet(
      java.util.Map<String, FleetView.TypeView> types, boolean w2Reachable) {
    return new FleetView(
        List.of(worker("w1", true, "square"), worker("w2", w2Reachable, "add", "merge")),
        types,
        List.of(),
        0,
        0,
        1,
        1);
  }

  private static JobProgress.Snapshot snapshot(
      long proven, int blocks, double rate, Duration eta, boolean atLeast) {
    return new JobProgress.Snapshot(
        proven, blocks, 1024, 6, rate, eta, atLeast, 2, Map.of(), Map.of());
  }

  @Test
  void theBarShowsBlocksTasksRateAndEtaWithinTheWidth() {
    String line =
        ProgressDisplay.Bar.render(snapshot(12, 20, 312.4, Duration.ofSeconds(67), false), 79);
    assertTrue(line.startsWith("["), line);
    assertTrue(
        line.endsWith("] 12/20 blocks, 1,024 pending, 6 in flight, 312 tasks/s, ETA 1:07"), line);
    assertTrue(line.length() <= 79, line.length() + ": " + line);
    String bar = line.substring(1, line.indexOf(']'));
    assertEquals(bar.length() * 12 / 20, bar.chars().filter(c -> c == '#').count(), bar);

    assertTrue(
        ProgressDisplay.Bar.render(snapshot(0, 20, 100, Duration.ofSeconds(10), true), 79)
            .endsWith(", 100 tasks/s, ETA >=0:10"),
        "a lower bound before the first block is proven");
    assertTrue(
        ProgressDisplay.Bar.render(snapshot(20, 20, 100, Duration.ZERO, false), 79)
            .endsWith(", done"));
    assertTrue(
        ProgressDisplay.Bar.render(snapshot(0, 20, Double.NaN, null, false), 79)
            .endsWith(", - tasks/s, ETA ?"));
    assertEquals("1:02:03", ProgressDisplay.Bar.clock(Duration.ofSeconds(3723)));

    String large =
        ProgressDisplay.Bar.render(
            new JobProgress.Snapshot(
                1200,
                2000,
                2_345,
                64,
                3124.4,
                Duration.ofSeconds(3723),
                true,
                8,
                Map.of(),
                Map.of()),
            79);
    assertEquals(
        "60% 1200/2000 blocks, 2,345 pending, 64 in flight, 3,124 tasks/s, ETA >=1:02:03",
        large, "large numbers fit 80 columns: the share in figures instead of the bar");
    String narrow =
        ProgressDisplay.Bar.render(snapshot(12, 20, 312.4, Duration.ofSeconds(67), false), 50);
    assertEquals(50, narrow.length(), narrow);
    assertTrue(narrow.endsWith("..."), narrow);
  }

  @Test
  void onATerminalOtherLinesGoAboveTheBar() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ProgressDisplay.Bar bar =
        new ProgressDisplay.Bar(new PrintStream(bytes, true, StandardCharsets.UTF_8), 80);
    bar.waiting("waiting for workers: none is Ready", true);
    bar.event("worker node 127.0.0.1:2552 is Up: 1 worker node Up");
    bar.waitEnded("ready after waiting 3.0 s");
    bar.close();
    assertEquals(
        "\r\033[Kwaiting for workers: none is Ready"
            + "\r\033[Kworker node 127.0.0.1:2552 is Up: 1 worker node Up\nwaiting for workers: none is Ready"
            + "\r\033[Kready after waiting 3.0 s\n",
        bytes.toString(StandardCharsets.UTF_8).replace(System.lineSeparator(), "\n"));
  }

  @Test
  void aClusterNodeNotJoinedYetWaitsToJoinAndNotForAStatusNamedRemoved() {
    // Pekko gives a node that has not joined any cluster the member status Removed
    try (ProverNode node =
        ProverNode.builder(ClusterNodes.SYSTEM)
            .config(ClusterNodes.config("queue", ""))
            .catalog(TestNodes.catalog())
            .clusterQueue()
            .start()) {
      assertEquals("waiting to join the cluster (not a member yet)", JobProgress.clusterWait(node));
    }
  }

  private static QueueStats.TypeStats done(long completed, long inFlight) {
    return new QueueStats.TypeStats(0, inFlight, completed, 0, 0, 0, 0, 0, 0, 0);
  }

  /**
   * A resumed run (a user's trial: "blocks 1/20" before the kill, "0/20" after): the flows took
   * results from the store. Those count as done, the blocks among them as proven, each type's
   * marked as reused; the parsers of the line still read it (its done counts now include the reused
   * ones).
   */
  @Test
  void aResumedRunCountsTheResultsItReusedAsDoneFromItsFirstLine() {
    QueueStats restarted =
        new QueueStats(
            new java.util.LinkedHashMap<>(
                Map.of(
                    "CircuitCompilerTask",
                    done(5, 0),
                    JobProgress.AppchainProgressLine.BLOCK_TYPE,
                    done(0, 1),
                    WorkerRegistrationTask.NAME,
                    done(2, 0))),
            2,
            0,
            0);
    Map<String, Long> computed = Map.of("CircuitCompilerTask", 5L);
    Map<String, Long> reused =
        Map.of(JobProgress.AppchainProgressLine.BLOCK_TYPE, 3L, "StateTransitionTask", 40L);
    assertEquals(
        5 + 3, JobProgress.proven(20, 5, computed, reused), "stored batches' and reused blocks");
    assertEquals(20, JobProgress.proven(20, 15, computed, Map.of("NewBlockTask", 9L)));
    assertEquals(0, JobProgress.proven(20, 0, computed, Map.of()), "a fresh run: nothing yet");
    assertEquals(
        2 + 4,
        JobProgress.proven(20, 2, Map.of("NewBlockTask", 1L), Map.of("NewBlockTask", 3L)),
        "computed and reused block proofs both count");

    String line = JobProgress.AppchainProgressLine.render(restarted, 8, 20, computed, reused);
    assertTrue(line.startsWith("proving: blocks 8/20 proven; tasks done "), line);
    assertTrue(line.contains(" NewBlockTask=3 (3 reused)"), line);
    assertTrue(line.contains(" StateTransitionTask=40 (40 reused)"), line);
    assertTrue(line.contains(" CircuitCompilerTask=5"), line);
    assertTrue(line.endsWith("; in flight 1"), line);
    assertEquals(43, DurableClusterIT.tasksDone(line), "the IT's parser: done, reused included");

    assertEquals(
        "proving: blocks 0/20 proven; tasks done NewBlockTask=0; in flight 1",
        JobProgress.AppchainProgressLine.render(
            new QueueStats(
                Map.of(JobProgress.AppchainProgressLine.BLOCK_TYPE, done(0, 1)), 1, 0, 0),
            0,
            20,
            Map.of(),
            Map.of()),
        "nothing reused: the line as it always was");
    assertEquals(
        Map.of("NewBlockTask", 2L),
        JobProgress.since(
            Map.of("NewBlockTask", 5L, "StateTransitionTask", 7L),
            Map.of("NewBlockTask", 7L, "StateTransitionTask", 7L)),
        "what an earlier job of the node reused is not this one's");
  }

  /**
   * A trial's resumed run: a type only reused so far (listed after the types computed) moved
   * forward once its first result was computed, and the lines' order jumped. Over a job's lines a
   * type keeps the place it was first shown at; new types come after.
   */
  @Test
  void aTypeKeepsItsPlaceFromLineToLine() {
    QueueStats none = new QueueStats(Map.of(), 0, 0, 0);
    Map<String, Long> reused = Map.of("StateTransitionTask", 40L);
    java.util.Set<String> shown = new java.util.LinkedHashSet<>();
    assertEquals(
        "proving: blocks 0/20 proven; tasks done BlockProvingTask=3 StateTransitionTask=40 (40"
            + " reused); in flight 0",
        JobProgress.AppchainProgressLine.render(
            none, 0, 20, Map.of("BlockProvingTask", 3L), reused, shown));
    Map<String, Long> computed = new java.util.LinkedHashMap<>();
    computed.put("BlockProvingTask", 5L);
    computed.put("BlockReductionTask", 1L);
    computed.put("StateTransitionTask", 2L);
    assertEquals(
        "proving: blocks 0/20 proven; tasks done BlockProvingTask=5 StateTransitionTask=42 (40"
            + " reused) BlockReductionTask=1; in flight 0",
        JobProgress.AppchainProgressLine.render(none, 0, 20, computed, reused, shown));
    assertEquals(
        "proving: blocks 0/20 proven; tasks done BlockProvingTask=5 BlockReductionTask=1"
            + " StateTransitionTask=42 (40 reused); in flight 0",
        JobProgress.AppchainProgressLine.render(none, 0, 20, computed, reused),
        "a line on its own: computed types first");
  }

  /**
   * An operator's churn trial: after a queue node was lost (or a standby took over) the queue
   * entities that moved had counted from 0 again, and the line's and the summary's counts went
   * back. The counts are the flows' now: the queue's counters, even emptied, change only in flight.
   */
  @Test
  void theDoneCountsAreTheFlowsNotTheQueueEntitiesWhoseCountersStartAgainWhereTheyMove() {
    QueueStats movedEntities =
        new QueueStats(
            new java.util.LinkedHashMap<>(
                Map.of(
                    "RuntimeProvingTask",
                    done(3, 2),
                    JobProgress.AppchainProgressLine.BLOCK_TYPE,
                    done(0, 0))),
            2,
            0,
            0);
    Map<String, Long> computed = new java.util.LinkedHashMap<>();
    computed.put("CircuitCompilerTask", 5L);
    computed.put("RuntimeProvingTask", 640L);
    computed.put(JobProgress.AppchainProgressLine.BLOCK_TYPE, 7L);
    assertEquals(
        "proving: blocks 7/20 proven; tasks done CircuitCompilerTask=5 RuntimeProvingTask=640"
            + " NewBlockTask=7; in flight 2",
        JobProgress.AppchainProgressLine.render(
            movedEntities, JobProgress.proven(20, 0, computed, Map.of()), 20, computed, Map.of()),
        "the flows' counts, in the order their first results came; in flight the queue's");
    assertEquals(
        "proving: blocks 0/20 proven; tasks done StateTransitionTask=0; in flight 4",
        JobProgress.AppchainProgressLine.render(
            new QueueStats(Map.of("StateTransitionTask", done(9, 4)), 0, 0, 0),
            0,
            20,
            Map.of(),
            Map.of()),
        "a type only in flight so far shows 0, whatever its entity counted");
    Map<String, Long> now = new java.util.LinkedHashMap<>();
    now.put("RuntimeProvingTask", 9L);
    now.put("BlockProvingTask", 4L);
    now.put("BlockBuildingTask", 1L);
    assertEquals(
        List.of("RuntimeProvingTask", "BlockProvingTask"),
        List.copyOf(JobProgress.since(Map.of("BlockBuildingTask", 1L), now).keySet()),
        "since keeps the counts' order, not the names'");
  }

  @Test
  void aRunItsNodesShutdownEndedEndsOnTheLastTicksFiguresNotOnWholeBatchesAlone() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    ProverNode node = TestNodes.node("progress-shutdown", "").start();
    JobProgress progress = JobProgress.start(node, out, "compile");
    progress.proving(20, 3); // three blocks' proofs from the store: proven from the first tick
    Awaitility.await("a tick's line")
        .atMost(Duration.ofSeconds(10))
        .until(() -> bytes.toString(StandardCharsets.UTF_8).contains("blocks 3/20 proven"));
    node.close(); // the node's shutdown ends the run: no batch completed
    progress.finish(0);
    progress.close();
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    String last = lines.get(lines.size() - 1);
    assertTrue(last.startsWith("proving: blocks 3/20 proven"), "the last tick's figures: " + last);
  }

  @Test
  void whileTheSequencersNodeReportsAProblemProvingSaysItIsHeldUpAndWhenItIsNoLonger() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (ProverNode node =
        TestNodes.node("progress-held-up", "").workers(WorkerGroup.allTypes(1, 1)).start()) {
      TestNodes.await(node.ready()); // a Ready worker: no other wait follows the hold-up's end
      try (JobProgress progress = JobProgress.start(node, out, "compile")) {
        progress.proving(20, 0);
        // what the status API's problems say: here a part beside the sequencer (in an outage, the
        // result store whose database does not confirm writes: DatabaseOutageIT)
        NodeProblems.get(node.system()).register("beside", () -> "its database is down");
        await(bytes, "held up: its database is down", 10);
        await(bytes, "held up for 5 s: its database is down", 15); // said again, with how long
        NodeProblems.get(node.system()).unregister("beside");
        String said = await(bytes, "no longer held up: proving goes on", 10);
        assertEquals(
            1,
            said.lines().filter(line -> line.equals("no longer held up: proving goes on")).count(),
            said);
      }
    }
  }

  @Test
  void aLeavingNodesQueueWhoseCountersWentBackIsNotShown() {
    // a SIGTERM'd sequencer node's last ticks read its queue after its entities stopped:
    // "proving: blocks 0/400 proven; tasks done; in flight 0" followed lines with 982 tasks done
    QueueStats.TypeStats done = new QueueStats.TypeStats(1, 2, 982, 0, 0, 0, 0, 0, 0, 0);
    QueueStats before = new QueueStats(Map.of("RuntimeProvingTask", done), 1, 0, 0);
    QueueStats gone = new QueueStats(Map.of(), 0, 0, 0);
    QueueStats more =
        new QueueStats(
            Map.of("RuntimeProvingTask", new QueueStats.TypeStats(0, 1, 983, 0, 0, 0, 0, 0, 0, 0)),
            1,
            0,
            0);
    assertTrue(JobProgress.queueGone(before, gone));
    assertFalse(JobProgress.queueGone(before, more), "a drain's last results are shown");
    assertFalse(JobProgress.queueGone(before, before));
    assertFalse(JobProgress.queueGone(null, gone), "no tick shown yet");
  }
}
