package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WaitingForPeers;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.UnservedTypes;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.queue.QueuePlacement;
import dev.pekkoprover.sequencer.TaskResultCounts;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * What the main job (and the sequencer node) says while it runs, on its standard output. On a
 * terminal ({@link System#console()} not null) one progress bar redrawn in place: blocks proven of
 * those produced, tasks pending and in flight, tasks/s and an ETA. Otherwise the once-a-second
 * lines it always printed ({@code proving: blocks N/M proven; tasks done ...}, which tests and
 * scripts parse; a resumed run's also {@code Type=n (k reused)}). What a resumed run took from the
 * store counts as done, its blocks as proven, from the first line. The results counted are those
 * this JVM's flows took ({@link TaskResultCounts}), not the queue's counters, which start again
 * from 0 where a queue entity moves to another node; pending and in flight are the queue's. Either
 * way: while it waits (to be Up in the cluster, for a queue node, for workers, for the circuits to
 * compile, for workers to register; while proving, what holds the sequencer up: {@link #heldUp}) a
 * line saying what for, repeated every {@link #REPEAT_WAIT} with fresh numbers; and on a cluster
 * node, a line when a worker node joins, becomes unreachable, is reachable again or leaves ({@link
 * WorkerNodeEvents}).
 *
 * <p>The bar is plain ANSI (carriage return and erase-line), not a library: it is one line of text,
 * and the libraries that do it (progressbar with JLine) would add a terminal layer whose only use
 * here is the width, which {@code COLUMNS} gives where set. Log lines go to standard error; while
 * the bar is drawn they first erase its line ({@link ProgressLineClearer}), and the bar is drawn
 * again below them at the next tick.
 */
public final class JobProgress implements AutoCloseable {

  /** How often a wait that goes on is said again (lines), with its numbers then. */
  static final Duration REPEAT_WAIT = Duration.ofSeconds(5);

  /**
   * How often a standby's wait is said again when nothing in it changed: it may stand by for days.
   * A change (another node runs the sequencer, or it became unreachable) is said at once.
   */
  static final Duration REPEAT_STANDBY = Duration.ofMinutes(10);

  /** The kind of wait of a standby sequencer node ({@link #standbyWait}). */
  static final String STANDING_BY = "standing by";

  /** Tasks/s are measured over this much of the latest past. */
  static final Duration RATE_WINDOW = Duration.ofSeconds(5);

  private static final Duration TICK = Duration.ofSeconds(1);
  private static final Duration ASK = Duration.ofSeconds(3);

  /**
   * How long a tick waits for the queue's stats and fleet view: a second longer than the queue
   * front's {@code prover.queue.cluster.stats-timeout}, within which the front answers, partly from
   * its entities' last answers when some do not answer ({@code QueueFront}). At the same 3 s as the
   * front's timeout, a partial answer lost the race to this wait, and no line came.
   */
  private final Duration queueAsk;

  /** {@link #queueAsk} of a node's configuration; PluginJobWait waits as long. */
  static Duration queueAsk(com.typesafe.config.Config config) {
    return config.getDuration("prover.queue.cluster.stats-timeout").plusSeconds(1);
  }

  private final ProverNode node;
  private final PrintStream out;
  private final String compileType;
  private final ProgressDisplay display;
  private final ScheduledExecutorService ticker;
  private final AutoCloseable memberEvents;
  private final Function<ProverNode, String> clusterWait;

  /** When this node was first seen standing by ({@link #standbyWait}); 0 when it is not. */
  private long standbySince;

  /**
   * When this node was seen to take the sequencer over ({@link System#nanoTime}); 0: it did not.
   */
  private long tookOverAt;

  /** {@code prover.queue.cluster.placement}, for the start-up's line while it waits. */
  private final QueuePlacement.Settings placement;

  /** When the start-up wait first found the node joined ({@link System#nanoTime}); 0: not yet. */
  private long joinedAt;

  /** The node this one last stood by for ({@code host:port}); null when it has not. */
  private String stoodByFor;

  /** The node is a cluster node (the launcher's {@code node}), not the embedded run's. */
  private final boolean cluster;

  /** The node's counts of task results its flows took: computed, or reused from the store. */
  private final TaskResultCounts resultCounts;

  /**
   * {@link #resultCounts}' computed ones when this progress started: only this job's count, but for
   * the start-up's compilation ({@code compileType}), which the node's sequencer ran for this job,
   * often before it started (the summary always listed those tasks).
   */
  private final Map<String, Long> computedBefore;

  /** {@link #resultCounts}' reused ones when this progress started: only this job's count. */
  private final Map<String, Long> reusedBefore;

  // proving
  private volatile int blocks;

  /**
   * Blocks whose batch proofs were stored before this run started (a resumed job): counted as
   * proven.
   */
  private volatile int storedBlocks;

  /**
   * Set by {@link #finish(int)}: the blocks proven once every batch has ended, for the last line.
   */
  private volatile long finalProven = -1;

  private long provingStart;
  private final ArrayDeque<long[]> samples = new ArrayDeque<>(); // {nanos, tasks completed}

  /** The wait said last, if it goes on. */
  private final WaitLine waitLine = new WaitLine();

  /** The last tick found task types that no Ready worker serves (ticker thread only). */
  private boolean unservedLastTick;

  /** What the last tick showed: the last line of a run its node's shutdown ended. */
  private volatile QueueStats lastStats;

  private volatile Snapshot lastShown;

  private JobProgress(
      ProverNode node, PrintStream out, String compileType, ProgressDisplay display) {
    this.node = node;
    this.out = out;
    this.compileType = compileType;
    this.display = display;
    this.ticker =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "job-progress");
              thread.setDaemon(true);
              return thread;
            });
    boolean cluster =
        "cluster".equals(node.system().settings().config().getString("pekko.actor.provider"));
    this.clusterWait = cluster ? JobProgress::clusterWait : n -> null;
    this.cluster = cluster;
    this.placement = QueuePlacement.Settings.fromConfig(node.system().settings().config());
    this.queueAsk = queueAsk(node.system().settings().config());
    this.resultCounts = TaskResultCounts.get(node.system());
    Map<String, Long> computedBefore = resultCounts.computedPerType();
    computedBefore.remove(compileType);
    this.computedBefore = computedBefore;
    this.reusedBefore = resultCounts.reusedPerType();
    this.memberEvents = cluster ? WorkerNodeEvents.divert(node.system(), this::event) : () -> {};
  }

  /**
   * The job's progress on {@code out}: a bar when {@code out} is this process's standard output and
   * that is a terminal (or {@code -Dprover.progress=bar}; {@code =lines} forces the lines), else
   * the lines.
   *
   * @param compileType the start-up plan's task type, whose tasks the wait for compilation counts
   */
  public static JobProgress start(ProverNode node, PrintStream out, String compileType) {
    String forced = System.getProperty("prover.progress", "");
    boolean bar =
        forced.equals("bar")
            || (!forced.equals("lines")
                && out == System.out
                && System.console() != null
                && !"dumb".equals(System.getenv("TERM")));
    return new JobProgress(
        node,
        out,
        compileType,
        bar ? new ProgressDisplay.Bar(out, columns()) : new ProgressDisplay.Lines(out));
  }

  /**
   * The terminal's width: {@code COLUMNS} where the shell exports it, else what {@code stty size}
   * says of the terminal on standard input (a console has one), else 80.
   */
  static int columns() {
    String exported = System.getenv("COLUMNS");
    try {
      if (exported != null) {
        return Math.max(40, Integer.parseInt(exported.trim()));
      }
      Process stty =
          new ProcessBuilder("stty", "size")
              .redirectInput(ProcessBuilder.Redirect.INHERIT)
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (stty.waitFor(2, TimeUnit.SECONDS) && stty.exitValue() == 0) {
        String[] rowsColumns =
            new String(stty.getInputStream().readAllBytes()).trim().split("\\s+");
        int columns = Integer.parseInt(rowsColumns[1]);
        if (columns > 0) { // a terminal without a size (a pseudo-terminal nobody sized) says 0
          return Math.max(40, columns);
        }
      }
      stty.destroy();
    } catch (Exception | LinkageError unknown) {
      // no stty, or not a terminal after all
    }
    return 80;
  }

  /** A line of the job's own (blocks produced, summary): above the bar, or as it is. */
  public void println(String line) {
    display.event(line);
  }

  /** A worker node joined or left, or anything else worth a line of its own now. */
  void event(String line) {
    display.event(line);
  }

  /**
   * Waits until the node is ready (start-up done, local workers Ready), saying what it waits for
   * while it does; fails as {@code node.ready()} fails.
   */
  public void awaitReady() {
    CompletableFuture<Void> ready = node.ready().toCompletableFuture();
    long start = System.nanoTime();
    boolean waited = false;
    while (!ready.isDone()) {
      try {
        ready.get(TICK.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException stillWaiting) {
        String what = startupWait();
        if (what != null) {
          waited = true;
          waiting(what);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the node to be ready", e);
      } catch (ExecutionException e) {
        break; // thrown by join below
      }
    }
    tookOver();
    ready.join();
    if (waited) {
      // a standby's wait is its standing by, said at the takeover; then the run's own start-up
      doneWaiting(
          tookOverAt != 0
              ? String.format(
                  Locale.ROOT,
                  "ready %.1f s after taking the sequencer over",
                  (System.nanoTime() - tookOverAt) / 1e9)
              : String.format(
                  Locale.ROOT, "ready after waiting %.1f s", (System.nanoTime() - start) / 1e9));
    }
  }

  /**
   * Waits until the node is ready as {@link #awaitReady()} does, saying what it waits for on {@code
   * out}.
   */
  public static void awaitReady(ProverNode node, PrintStream out, String compileType) {
    try (JobProgress progress = start(node, out, compileType)) {
      progress.awaitReady();
    }
  }

  /**
   * Starts the once-a-second progress of proving {@code blocks} blocks.
   *
   * @param storedBlocks blocks whose batch proofs the store held at the start (a resumed run):
   *     counted as proven, as is every block proof this job's flows take (computed or reused)
   */
  public void proving(int blocks, int storedBlocks) {
    this.blocks = blocks;
    this.storedBlocks = storedBlocks;
    this.provingStart = System.nanoTime();
    // a second after the last tick ended, not at a fixed rate: a rate catches up on the ticks it
    // missed, so after a pause (a SIGSTOP'd node, a tick that waited on a queue that did not
    // answer) 26 lines came in one second (an operator's trial)
    ticker.scheduleWithFixedDelay(
        this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Stops the ticks and shows where proving got to one last time (a run shorter than a second shows
   * it too).
   *
   * @param provenBlocks the blocks of the batches that completed, their proofs computed or taken
   *     from the store
   */
  public void finish(long provenBlocks) {
    this.finalProven = provenBlocks;
    ticker.shutdownNow();
    try {
      ticker.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (CoordinatedShutdown.get(node.system()).getShutdownReason().isPresent()
        && lastShown != null) {
      // the node's shutdown ended the run: its queue is gone and only whole batches count as
      // proven, which read as "blocks 0/20 proven; tasks done" after the ticks had said 3/20
      // (an operator's trial); the last tick's figures are where it got to
      display.progress(lastStats, lastShown, true);
      return;
    }
    QueueStats stats = node.queueStats().toCompletableFuture().join();
    display.progress(stats, snapshot(stats, null), true);
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    try {
      memberEvents.close();
    } catch (Exception ignored) {
      // the node is going away
    }
    display.close();
  }

  private void tick() {
    try {
      // both at once: a tick that asked one after the other took up to twice the front's timeout
      long askedAt = System.nanoTime();
      CompletableFuture<QueueStats> statsAsked = node.queueStats().toCompletableFuture();
      CompletableFuture<FleetView> fleetAsked = node.fleet().toCompletableFuture();
      QueueStats stats = statsAsked.get(queueAsk.toMillis(), TimeUnit.MILLISECONDS);
      boolean leaving = CoordinatedShutdown.get(node.system()).getShutdownReason().isPresent();
      if (leaving && queueGone(lastStats, stats)) {
        return; // the last line shown stays, as finish shows it again
      }
      FleetView fleet =
          answerOrNull(fleetAsked, queueAsk.toNanos() - (System.nanoTime() - askedAt));
      Snapshot now = snapshot(stats, fleet);
      display.progress(stats, now, false);
      lastStats = stats;
      lastShown = now;
      if (leaving) {
        return; // the node leaves (its workers drain): no wait to report
      }
      String unserved =
          fleet == null || now.pending() == 0 ? null : UnservedTypes.waitingLine(fleet);
      // said from its second tick in a row: a worker that re-registers for a moment is no wait
      boolean unservedBefore = unservedLastTick;
      unservedLastTick = unserved != null;
      if (!unservedBefore) {
        unserved = null;
      }
      List<String> problems = sequencerProblems(node);
      if (problems == null && HELD_UP.equals(waitLine.kind())) {
        return; // no answer this tick: the hold-up is not known to be over, its line stays
      }
      String heldUp = problems == null ? null : heldUp(problems);
      String wait;
      if (heldUp != null) {
        wait = heldUp;
      } else if (now.pending() > 0 && fleet != null && now.readyWorkers() == 0) {
        wait =
            "waiting for workers: none is Ready ("
                + fleet.workers().size()
                + " known), "
                + now.pending()
                + " task(s) pending";
      } else {
        wait = unserved;
      }
      if (wait != null) {
        waiting(wait); // another kind than the last replaces it: its line says what now
      } else if (waitLine.kind() != null) {
        doneWaiting(
            HELD_UP.equals(waitLine.kind())
                ? "no longer held up: proving goes on"
                : "workers are Ready again: " + now.readyWorkers() + " Ready, proving goes on");
      }
    } catch (Exception e) {
      // a slow answer (a busy node, a queue node moving): the next tick tries again
    }
  }

  /** The kind of wait said while the sequencer's node reports problems ({@link #heldUp}). */
  static final String HELD_UP = "held up";

  /**
   * While the sequencer's node reports problems (its result store's database does not confirm
   * writes, a part beside it failed: the status API's {@code problems}), the line that says so;
   * null when it reports none. In an outage of the database the results wait unconfirmed and do not
   * count as done, so the progress stands still: this says why.
   */
  static String heldUp(List<String> problems) {
    return problems.isEmpty() ? null : HELD_UP + ": " + String.join("; and ", problems);
  }

  /**
   * The problems of the sequencer running on {@code node} now; null when it does not answer in time
   * (a busy node, the singleton moving: the next tick asks again, and a hold-up said is not called
   * over meanwhile).
   */
  static List<String> sequencerProblems(ProverNode node) {
    try {
      return node.sequencerStatus()
          .toCompletableFuture()
          .get(ASK.toMillis(), TimeUnit.MILLISECONDS)
          .problems();
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * Whether the queue's counters went back (fewer results completed than the last tick showed): on
   * a node that leaves, its queue's entities stop, and their counters, read again, said {@code in
   * flight 0} (and, while the done counts were the queue's, {@code proving: blocks 0/400 proven;
   * tasks done}) for the last ticks after a SIGTERM. False before a first tick ({@code last} null).
   */
  static boolean queueGone(QueueStats last, QueueStats now) {
    return last != null && completed(now) < completed(last);
  }

  private static long completed(QueueStats stats) {
    long completed = 0;
    for (QueueStats.TypeStats type : stats.types().values()) {
      completed += type.completed();
    }
    return completed;
  }

  /**
   * What one tick shows.
   *
   * @param proven blocks proven, stored and reused ones among them
   * @param computed task type name to results of this job's tasks that workers computed, in the
   *     order each type's first came
   * @param reused task type name to results this job took from the store without running them
   */
  record Snapshot(
      long proven,
      int blocks,
      long pending,
      long inFlight,
      double tasksPerSecond,
      Duration eta,
      boolean etaAtLeast,
      int readyWorkers,
      Map<String, Long> computed,
      Map<String, Long> reused) {}

  /**
   * Blocks proven: those of the batches stored before the run, and every block proof this job's
   * flows took, computed by a worker or reused from the store; at most {@code blocks}. A resumed
   * run so starts where the killed one got to (less what the kill lost before it was stored).
   */
  static long proven(
      int blocks, int storedBlocks, Map<String, Long> computed, Map<String, Long> reused) {
    String block = AppchainProgressLine.BLOCK_TYPE;
    return Math.min(
        blocks, storedBlocks + computed.getOrDefault(block, 0L) + reused.getOrDefault(block, 0L));
  }

  /**
   * Task type name to results computed by workers for this job so far (since its progress started),
   * types in the order their first result came: the summary's "computed by this run".
   */
  public Map<String, Long> computedPerType() {
    return since(computedBefore, resultCounts.computedPerType());
  }

  /**
   * What {@code now} counts beyond {@code before}, per type, in {@code now}'s order; types without
   * any left out.
   */
  static Map<String, Long> since(Map<String, Long> before, Map<String, Long> now) {
    Map<String, Long> added = new LinkedHashMap<>();
    now.forEach(
        (type, n) -> {
          long more = n - before.getOrDefault(type, 0L);
          if (more > 0) {
            added.put(type, more);
          }
        });
    return added;
  }

  private synchronized Snapshot snapshot(QueueStats stats, FleetView fleet) {
    long pending = 0;
    long inFlight = 0;
    for (var entry : stats.types().entrySet()) {
      if (!entry.getKey().equals(WorkerRegistrationTask.NAME)) {
        pending += entry.getValue().pending();
        inFlight += entry.getValue().inFlight();
      }
    }
    Map<String, Long> computed = computedPerType();
    long done = 0;
    for (long n : computed.values()) {
      done += n;
    }
    long now = System.nanoTime();
    samples.addLast(new long[] {now, done});
    while (samples.size() > 2 && now - samples.peekFirst()[0] > RATE_WINDOW.toNanos()) {
      samples.removeFirst();
    }
    long[] first = samples.peekFirst();
    double rate =
        now > first[0] + 500_000_000L ? (done - first[1]) / ((now - first[0]) / 1e9) : Double.NaN;
    Map<String, Long> reused = since(reusedBefore, resultCounts.reusedPerType());
    long proven = finalProven >= 0 ? finalProven : proven(blocks, storedBlocks, computed, reused);
    // blocks this run proved itself: the pace (stored and reused ones took no time)
    long provenHere =
        proven
            - Math.min(
                proven, storedBlocks + reused.getOrDefault(AppchainProgressLine.BLOCK_TYPE, 0L));
    // From the blocks once this run proved some; before, from the tasks known now at the present
    // rate, which is a lower bound (a flow pushes its merges as their inputs come back)
    Duration eta = null;
    boolean lowerBound = false;
    if (proven >= blocks) {
      eta = Duration.ZERO;
    } else if (provenHere > 0) {
      eta = Duration.ofNanos((now - provingStart) / provenHere * (blocks - proven));
    } else if (rate > 0) {
      eta = Duration.ofMillis((long) ((pending + inFlight) / rate * 1000));
      lowerBound = true;
    }
    int ready = 0;
    if (fleet != null) {
      for (FleetView.WorkerView w : fleet.workers()) {
        if (w.state() == WorkerState.READY && w.reachable()) {
          ready++;
        }
      }
    }
    return new Snapshot(
        proven, blocks, pending, inFlight, rate, eta, lowerBound, ready, computed, reused);
  }

  private FleetView fleet() {
    return answerOrNull(node.fleet().toCompletableFuture(), queueAsk.toNanos());
  }

  /** The answer if it comes within {@code nanos} (at least at once), else null. */
  private static <T> T answerOrNull(CompletableFuture<T> asked, long nanos) {
    try {
      return asked.get(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    } catch (Exception e) {
      return null;
    }
  }

  /**
   * What start-up waits for now, or null when it cannot tell (it asks again at the next tick), or
   * once the node shuts down (a SIGTERM while it waited: it no longer waits, it leaves).
   */
  private String startupWait() {
    if (CoordinatedShutdown.get(node.system()).getShutdownReason().isPresent()) {
      return null;
    }
    String notJoined = clusterWait.apply(node);
    if (notJoined != null) {
      return notJoined;
    }
    if (joinedAt == 0) {
      joinedAt = System.nanoTime(); // the first placement can begin only now
    }
    String standby = cluster ? standbyWait() : null;
    if (standby != null) {
      if (standbySince == 0) {
        standbySince = System.nanoTime();
      }
      return standby;
    }
    tookOver();
    FleetView fleet = fleet();
    if (cluster
        && (fleet == null || fleet.answered() == 0)
        && System.nanoTime() - joinedAt < placement.waitOverWithin().toNanos()) {
      // no queue entity runs yet, in the first max-wait after the node joined: a first placement
      // may wait for queue nodes (a trial's sequencer said nothing for 57 s, or that it waited for
      // workers); later, or in a takeover, fewer queue nodes than the setting is no such wait
      String waiting =
          QueuePlacement.firstPlacementWait(
              Cluster.get(node.system()).state().getMembers(),
              ProverNode.QUEUE_ROLE,
              placement.queueNodes());
      if (waiting != null) {
        return "waiting for queue nodes: "
            + waiting
            + " (at most "
            + placement.maxWait().toSeconds()
            + " s after the oldest queue node's start)";
      }
    }
    if (fleet == null) {
      return null;
    }
    QueueStats.TypeStats compiles = fleet.type(compileType).counts();
    if (compilesBefore < 0 && compiles.pending() + compiles.inFlight() + compiles.completed() > 0) {
      // from a view that holds the compile type's counts (a partial view, without its entity,
      // would make 0 the baseline)
      compilesBefore = compiles.completed();
    }
    String wait =
        startupWait(
            fleet,
            compileType,
            node.registrationParameters().toCompletableFuture().isDone(),
            compilesBefore);
    boolean alone = fleet.workers().isEmpty() && cluster && aloneInCluster(node);
    return wait + aloneHint.next(alone, System.nanoTime(), display::event);
  }

  /**
   * Compiles the queue had completed when this job first saw it, or when this node took the
   * sequencer over (-1: not looked yet): the queue entities count every run's, so a takeover's
   * start-up read "15/15 circuit(s) compiled" for a job of 5 (a trial, after two takeovers).
   */
  private long compilesBefore = -1;

  /** Said once this node has been alone for 30 s with no worker, then its short tail. */
  private final AloneHint aloneHint = new AloneHint();

  static boolean aloneInCluster(ProverNode node) {
    var members = Cluster.get(node.system()).state().getMembers();
    return StreamSupport.stream(members.spliterator(), false).count() <= 1;
  }

  /**
   * On a standby ({@link ProverNode#standingBy}): which node runs the sequencer (the oldest Up or
   * Leaving member with role sequencer, where the singleton runs), and that this node takes over
   * once that one is gone; once it is gone and this node is the oldest, that the sequencer starts
   * here after the hand-over (the singleton's removal margin, {@code stable-after}). Null on other
   * nodes, and at a first start, while the singleton is on its way to this node.
   */
  private String standbyWait() {
    if (!node.standingBy()) {
      return null;
    }
    Cluster cluster = Cluster.get(node.system());
    var state = cluster.state();
    Member oldest = ProverNode.sequencerMember(state);
    if (oldest != null && !oldest.uniqueAddress().equals(cluster.selfMember().uniqueAddress())) {
      stoodByFor = ProverNode.hostPort(oldest.address());
      return STANDING_BY
          + ": the sequencer runs on node "
          + stoodByFor
          + ", the oldest with role sequencer"
          + (state.getUnreachable().contains(oldest) ? " (unreachable now)" : "")
          + "; this node takes it over, and runs this job, once that node leaves or is downed";
    }
    return stoodByFor == null
        ? null
        : "taking the sequencer over: node "
            + stoodByFor
            + ", which ran it, is gone; it starts on this node, now the oldest with role sequencer,"
            + " once the cluster has handed it over";
  }

  /** One line when this node, a standby until now, runs the sequencer. */
  private void tookOver() {
    if (standbySince != 0 && !node.standingBy()) {
      tookOverAt = System.nanoTime();
      event(
          String.format(
              Locale.ROOT,
              "this node took the sequencer over after standing by %.1f s: its run starts here",
              (System.nanoTime() - standbySince) / 1e9));
      standbySince = 0;
      stoodByFor = null;
      compilesBefore = -1; // the runs before this node's took their compiles with them
    }
  }

  /**
   * Start-up's wait as the fleet shows it: no worker yet, circuits compiling, or workers
   * registering and preparing.
   *
   * @param started the sequencer's start-up is done (compiled, registration loop running)
   * @param compilesBefore compiles the queue had completed for earlier runs, left out of the counts
   *     (0 or less: none)
   */
  static String startupWait(
      FleetView fleet, String compileType, boolean started, long compilesBefore) {
    int known = fleet.workers().size();
    if (!started) {
      QueueStats.TypeStats compile = fleet.type(compileType).counts();
      long completed = Math.max(0, compile.completed() - Math.max(0, compilesBefore));
      long total = compile.pending() + compile.inFlight() + completed;
      boolean compilers =
          fleet.workers().stream().anyMatch(w -> w.servedTypes().contains(compileType));
      if (known == 0 || !compilers) {
        return "waiting for workers: "
            + (known == 0
                ? "none has announced itself to the queue yet; the circuits are compiled on a worker"
                : "none of the "
                    + known
                    + " known serves "
                    + compileType
                    + ": start one without --tasks, or with it among its --tasks (the circuits"
                    + " are compiled on a worker)");
      }
      if (total == 0) { // a sequencer that is starting (a restarted or new service node)
        return "waiting for the sequencer to start: it has sent no circuit to compile yet";
      }
      if (completed >= total) { // compiled: the stores' recovery is what is left
        return "waiting for the sequencer to start: "
            + total
            + "/"
            + total
            + " circuit(s) compiled; its result stores recover first (from the journal, if"
            + " durable)";
      }
      return "waiting for compilation: "
          + completed
          + "/"
          + total
          + " circuit(s) compiled, "
          + compile.inFlight()
          + " on workers now";
    }
    long ready = fleet.workers().stream().filter(w -> w.state() == WorkerState.READY).count();
    return "waiting for workers to register and prepare: " + ready + "/" + known + " Ready";
  }

  /** In a cluster: not Up yet, or no queue node Up (else null). */
  static String clusterWait(ProverNode node) {
    Cluster cluster = Cluster.get(node.system());
    Member self = cluster.selfMember();
    if (self.status() == MemberStatus.removed()) { // Pekko's status of a node not joined yet
      return "waiting to join the cluster (not a member yet)";
    }
    if (self.status() != MemberStatus.up()) {
      return "waiting to be Up in the cluster (member status " + self.status() + ")";
    }
    return WaitingForPeers.queueNodeUp(cluster.state())
        ? null
        : "waiting for a queue node: no member with role queue is Up (start one with --roles queue;"
            + " one that runs but formed a cluster of its own needs --seeds naming a node of this"
            + " one)";
  }

  /**
   * Says {@code what} when the kind of wait is new, and again every {@link #REPEAT_WAIT} (the bar:
   * every tick).
   */
  private synchronized void waiting(String what) {
    // a standby may wait for days: said again when what it says changes, else every 10 minutes
    boolean standby = WaitLine.kindOf(what).equals(STANDING_BY);
    WaitLine.Look look =
        waitLine.look(what, System.nanoTime(), standby ? REPEAT_STANDBY : REPEAT_WAIT, standby);
    display.waiting(look.line(), look.due());
  }

  private synchronized void doneWaiting(String line) {
    if (waitLine.end(System.nanoTime()) >= 0) {
      display.waitEnded(line);
    }
  }

  /** The appchain's block count, as the lines always counted it. */
  static final class AppchainProgressLine {
    static final String BLOCK_TYPE = dev.pekkoprover.appchain.task.NewBlockTask.NAME;

    private AppchainProgressLine() {}

    /**
     * {@code proving: blocks N/M proven; tasks done Type=n ...; in flight K}: the line tests and
     * scripts parse. {@code proven} counts the blocks whose proofs were stored before the run as
     * proven. A type's {@code n} counts its tasks computed ({@code computed}: type name to count)
     * and those whose results this run took from the store ({@code reused}), the latter also on
     * their own: {@code Type=n (k reused)}. Types computed come first, in the order their first
     * result came in this JVM (which varies a little between runs: types' first results race), then
     * types only reused, then those only in flight so far ({@code Type=0}); over a job's lines, a
     * type keeps the place it was first shown at (the overload with {@code shown}). In flight is
     * the queue's ({@code stats}).
     */
    static String render(
        QueueStats stats,
        long proven,
        int blocks,
        Map<String, Long> computed,
        Map<String, Long> reused) {
      return render(stats, proven, blocks, computed, reused, new LinkedHashSet<>());
    }

    /**
     * As {@link #render(QueueStats, long, int, Map, Map)}, with the types in the order of {@code
     * shown}, the types earlier lines of the job showed (added to here): a type keeps its place
     * from line to line. Without it a resumed run's type moved forward when its first result
     * computed came after its reused ones (a trial's "order jumps").
     */
    static String render(
        QueueStats stats,
        long proven,
        int blocks,
        Map<String, Long> computed,
        Map<String, Long> reused,
        Set<String> shown) {
      StringBuilder line =
          new StringBuilder(
              String.format("proving: blocks %d/%d proven; tasks done", proven, blocks));
      Set<String> types = new LinkedHashSet<>(computed.keySet());
      types.addAll(reused.keySet());
      long inFlight = 0;
      for (var entry : stats.types().entrySet()) {
        if (!entry.getKey().equals(WorkerRegistrationTask.NAME)
            && entry.getValue().inFlight() > 0) {
          types.add(entry.getKey());
          inFlight += entry.getValue().inFlight();
        }
      }
      shown.addAll(types);
      for (String type : shown) {
        if (types.contains(type)) {
          done(line, type, computed.getOrDefault(type, 0L), reused.getOrDefault(type, 0L));
        }
      }
      return line.append("; in flight ").append(inFlight).toString();
    }

    private static void done(StringBuilder line, String type, long computed, long reused) {
      line.append(' ').append(type).append('=').append(computed + reused);
      if (reused > 0) {
        line.append(" (").append(reused).append(" reused)");
      }
    }
  }
}
