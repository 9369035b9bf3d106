package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.fail;

import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.queue.TaskQueueState.Redelivery;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A seeded, randomized state-machine test of {@link TaskQueueState}: from each seed a few hundred
 * operations a real queue actor could see (flows enqueueing tasks of three types from two nodes,
 * workers joining, computing, failing, declining, restarting, going down, terminating, becoming
 * unreachable, reporting their load, time passing with retry timers and the lease tick, holds and
 * removals of a flow's node, flow cancels and newer sequencer runs; late reports of a restarted
 * worker's earlier incarnation, dispatches lost in transit, lowered capacities; even seeds with a
 * prefetch of 2 for the inline type {@code negate}), each followed by a check of the invariants
 * below against a model the test keeps from the effects it receives. At the end everything is
 * drained and every task must have reached one final outcome, or have been dropped by a documented
 * give-up (a cancelled flow, a removed node, an older run).
 *
 * <p>The invariants, after every step:
 *
 * <ul>
 *   <li>conservation: a task the model has waiting (pending, held back, in a retry backoff) or in
 *       flight is held by the queue ({@link TaskQueueState#notHeld}), and a task finished or
 *       dropped is not; no task detached from its worker ends without a put-back, an outcome or a
 *       documented drop; {@link TaskQueueState#size()} is their count;
 *   <li>the gauges: per type, {@code pending} (pending plus waiting) and {@code inFlight} equal the
 *       model's counts, {@code completed} and {@code failed} the outcomes sent;
 *   <li>slots: a worker's taken slots ({@link TaskQueueState#slotsTaken}, the fleet view's in
 *       flight) are the tasks in flight on it plus its overrun or cancelled tasks it has not
 *       reported on (zombies); never above its capacity, plus the prefetch for the inline type (a
 *       lowered capacity leaves what it held, documented); no free slot while it is unreachable or
 *       going down;
 *   <li>dispatch: only to a known, ready, reachable worker serving the type, not suspended for it
 *       after a decline, of a task that was pending (not held, not backing off, not in flight, not
 *       finished), with the attempt the model expects (one more per put-back and retry);
 *   <li>outcomes: at most one per task, to its own flow, never to a cancelled flow; a success only
 *       from a worker's result for that task;
 *   <li>the class's own "one thing not to miss": no type has a pending task while a worker serving
 *       it (not suspended) has a free slot.
 * </ul>
 *
 * <p>A failure is shrunk (removing operations while the same invariant still fails) and reported
 * with its seed and the calls of the minimal sequence.
 *
 * <p>Not covered here (the example-based tests in {@link TaskQueueStateTest} cover them): load
 * reports that name tasks waiting on a worker for a slot or held for other queue entities (so
 * withdraws, orphans and hand-backs), registration tasks, draining workers, and task ids reused
 * across runs. The budgets of attempts and worker losses are checked only through "one final
 * outcome".
 */
class TaskQueueStateModelTest {

  static final int SEEDS = 200;
  static final int OPS = 300;

  @Test
  void randomOperationSequencesKeepTheQueuesInvariants() {
    List<String> failures = new ArrayList<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      List<Op> ops = Op.generate(seed, OPS);
      int prefetch = prefetchFor(seed);
      String failure = Sim.run(ops, false, prefetch);
      if (failure != null) {
        List<Op> minimal = Sim.shrink(ops, failure, prefetch);
        failures.add(
            "seed "
                + seed
                + ": "
                + failure
                + "\n  minimal sequence ("
                + minimal.size()
                + " ops): "
                + minimal
                + (prefetch > 0 ? " with a prefetch of " + prefetch : "")
                + "\n  calls:\n"
                + Sim.trace(minimal, prefetch));
        if (failures.size() >= 3) {
          break;
        }
      }
    }
    if (!failures.isEmpty()) {
      fail(String.join("\n\n", failures));
    }
    System.out.println("coverage of " + SEEDS + " seeds x " + OPS + " ops: " + Sim.COVERAGE);
    for (String needed :
        List.of(
            "put back LEASE_OVERRUN",
            "put back WORKER_TERMINATED",
            "put back WORKER_RESTARTED",
            "put back WORKER_UNREACHABLE",
            "put back LOST_IN_TRANSIT",
            "put back DECLINED",
            "put back CRASH_COLLATERAL",
            "retry due",
            "late result taken",
            "dispatch into its own zombie's slot",
            "hold with tasks",
            "release with tasks",
            "outcome Failed")) {
      org.junit.jupiter.api.Assertions.assertTrue(
          Sim.COVERAGE.getOrDefault(needed, 0) > 0, "never exercised: " + needed);
    }
  }

  /**
   * Even seeds run with a prefetch of 2 for the inline type ({@code negate}), odd ones with none.
   */
  static int prefetchFor(long seed) {
    return seed % 2 == 0 ? 2 : 0;
  }

  /** The kinds of operation, with their weights in a generated sequence. */
  enum Kind {
    ENQUEUE(14),
    ENQUEUE_BATCH(4),
    REPEAT_ENQUEUE(1),
    JOIN(5),
    REANNOUNCE(2),
    RESTART(2),
    SUCCEED(16),
    FAIL(5),
    FAIL_PERMANENT(1),
    DECLINE(2),
    CANCELLED_RETURNS(4),
    STALE_REPORT(2),
    LOSE_DISPATCH(2),
    LOAD(6),
    TERMINATE(1),
    GOING_DOWN(1),
    UNREACHABLE(2),
    REACHABLE(3),
    TIME(8),
    HOLD(2),
    RELEASE(3),
    GONE(1),
    CANCEL_FLOW(1),
    NEW_RUN(1);

    final int weight;

    Kind(int weight) {
      this.weight = weight;
    }
  }

  /**
   * One operation: its kind and three numbers that pick its worker, task, flow or node from the
   * state at the time (modulo what exists), so that any subsequence of a sequence still replays.
   */
  record Op(Kind kind, int a, int b, int c) {
    static List<Op> generate(long seed, int count) {
      Random rnd = new Random(seed);
      int total = 0;
      for (Kind k : Kind.values()) {
        total += k.weight;
      }
      List<Op> ops = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int r = rnd.nextInt(total);
        Kind kind = null;
        for (Kind k : Kind.values()) {
          r -= k.weight;
          if (r < 0) {
            kind = k;
            break;
          }
        }
        ops.add(new Op(kind, rnd.nextInt(1000), rnd.nextInt(1000), rnd.nextInt(1000)));
      }
      return ops;
    }

    @Override
    public String toString() {
      return kind + "(" + a + "," + b + "," + c + ")";
    }
  }

  /** Where the model has a task. */
  enum Loc {
    PENDING,
    HELD,
    BACKOFF,
    IN_FLIGHT,
    /** Taken off its worker (lease overrun, a late result elsewhere) within the current step. */
    DETACHED,
    DONE,
    DROPPED;

    boolean queued() {
      return this == PENDING || this == HELD || this == BACKOFF || this == IN_FLIGHT;
    }

    boolean waiting() {
      return this == PENDING || this == HELD || this == BACKOFF;
    }
  }

  static final class MTask {
    final TaskEnvelope envelope;
    final String replyTo;
    final int node;
    final int flowSlot;
    Loc loc;
    String worker;
    int attempt = 1;
    int lastDispatched;
    boolean cancelled;
    int outcomes;

    MTask(TaskEnvelope envelope, String replyTo, int node, int flowSlot) {
      this.envelope = envelope;
      this.replyTo = replyTo;
      this.node = node;
      this.flowSlot = flowSlot;
    }

    String id() {
      return envelope.taskId();
    }

    String type() {
      return envelope.taskType();
    }
  }

  /** What a simulated worker process holds. */
  static final class Holding {
    final String taskId;
    final String runId;
    final int attempt;
    boolean cancelled;

    Holding(String taskId, String runId, int attempt) {
      this.taskId = taskId;
      this.runId = runId;
      this.attempt = attempt;
    }
  }

  static final class MWorker {
    final String id;
    boolean known;
    String inc;
    int incN;
    int capacity;

    /** The highest capacity this incarnation announced: a lowered one leaves tasks above it. */
    int peakCapacity;

    Set<String> types = Set.of();
    boolean down;
    boolean unreachable;
    final Set<String> suspended = new HashSet<>();
    final Set<String> zombies = new HashSet<>();
    final List<Holding> holdings = new ArrayList<>();

    /** What its previous incarnation still computed when it restarted: late reports. */
    final List<Holding> ghosts = new ArrayList<>();

    String oldInc;

    MWorker(String id) {
      this.id = id;
    }
  }

  static final class Flow {
    final String flowId;
    final String replyTo;
    final long seq;
    final int node;

    Flow(String flowId, String replyTo, long seq, int node) {
      this.flowId = flowId;
      this.replyTo = replyTo;
      this.seq = seq;
      this.node = node;
    }
  }

  /** One run of a sequence against a fresh queue and model. */
  static final class Sim implements TaskQueueState.Effects<String, String> {
    static final Duration LEASE = Duration.ofSeconds(10);
    static final Duration ADD_LEASE = Duration.ofSeconds(30);
    static final int MAX_ATTEMPTS = 3;
    static final int MAX_LOSSES = 4;
    static final List<String> TYPES = List.of("square", "add", "negate");
    static final long[] STEPS_MILLIS = {200, 1_000, 3_000, 6_000, 11_000, 31_000};

    final int prefetch;
    final QueueSettings settings;

    QueueSettings settings(int prefetch) {
      return new QueueSettings(
          LEASE,
          Map.of("add", ADD_LEASE),
          Duration.ofSeconds(1),
          MAX_ATTEMPTS,
          MAX_LOSSES,
          Duration.ofSeconds(3),
          Duration.ofMillis(100),
          Duration.ofSeconds(1),
          0.2,
          prefetch);
    }

    long now = 1_000_000_000L;
    final TaskQueueState<String, String> queue;

    TaskQueueState<String, String> newQueue() {
      return new TaskQueueState<>(
          TaskCatalog.of(
              List.of(
                  TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE, TestTasks.Negate.INSTANCE)),
          settings,
          this,
          () -> now);
    }

    final Map<String, MTask> tasks = new LinkedHashMap<>();

    /** The tasks not yet seen final by a check: the others are not looked at again. */
    final Map<String, MTask> live = new LinkedHashMap<>();

    /** How often each effect and event occurred, across all runs: the test's coverage. */
    static final Map<String, Integer> COVERAGE = new java.util.TreeMap<>();

    final MWorker[] workers = {
      new MWorker("w0"), new MWorker("w1"), new MWorker("w2"), new MWorker("wd")
    };
    final int[] nodeGen = new int[2];
    final boolean[] holdActive = new boolean[2];
    final Flow[] flows = new Flow[3];
    long flowSeq;
    int runN = 1;
    String run = runId(1);
    int taskN;
    final Map<String, Long> timers = new HashMap<>();
    final Map<String, Integer> succeededByType = new HashMap<>();
    final Map<String, Integer> failedByType = new HashMap<>();
    final List<String> trace = new ArrayList<>();
    final boolean tracing;

    Kind current;
    String succeedingTask;
    int effectsInStep;
    String superseded;

    Sim(boolean tracing, int prefetch) {
      this.tracing = tracing;
      this.prefetch = prefetch;
      this.settings = settings(prefetch);
      this.queue = newQueue();
      for (int i = 0; i < flows.length; i++) {
        renewFlow(i);
      }
    }

    static String runId(int n) {
      return String.format("r%013d-%08x", n, 0);
    }

    String nodeKey(int node) {
      return "n" + node + ".g" + nodeGen[node];
    }

    void renewFlow(int slot) {
      int node = slot == 2 ? 1 : 0;
      long seq = ++flowSeq;
      String flowId = "flow-" + seq;
      flows[slot] = new Flow(flowId, nodeKey(node) + "/" + flowId, seq, node);
    }

    /** Runs the sequence and drains; the first invariant violated, or null. */
    static String run(List<Op> ops, boolean tracing, int prefetch) {
      Sim sim = new Sim(tracing, prefetch);
      int i = 0;
      try {
        for (Op op : ops) {
          sim.step(op);
          i++;
        }
        sim.drain();
        return null;
      } catch (AssertionError | RuntimeException e) {
        String where = i < ops.size() ? " at op " + i + " " + ops.get(i) : " while draining";
        return e.getMessage() + where;
      } finally {
        if (tracing) {
          lastTrace = sim.trace;
        }
      }
    }

    static List<String> lastTrace = List.of();

    static String trace(List<Op> ops, int prefetch) {
      run(ops, true, prefetch);
      return "    " + String.join("\n    ", lastTrace);
    }

    static String tag(String failure) {
      int colon = failure.indexOf(':');
      return colon < 0 ? failure : failure.substring(0, colon);
    }

    /** Removes operations (chunks, then single ones) while the same invariant still fails. */
    static List<Op> shrink(List<Op> ops, String failure, int prefetch) {
      String tag = tag(failure);
      List<Op> best = new ArrayList<>(ops);
      // cut the tail after the failing op first
      for (int chunk = Math.max(1, best.size() / 2); chunk >= 1; chunk /= 2) {
        boolean progress = true;
        while (progress) {
          progress = false;
          for (int start = 0; start < best.size(); start += chunk) {
            List<Op> candidate = new ArrayList<>(best.subList(0, start));
            candidate.addAll(best.subList(Math.min(best.size(), start + chunk), best.size()));
            String f = run(candidate, false, prefetch);
            if (f != null && tag(f).equals(tag)) {
              best = candidate;
              progress = true;
              start -= chunk;
            }
          }
        }
      }
      return best;
    }

    static void check(boolean ok, String what) {
      if (!ok) {
        throw new AssertionError(what);
      }
    }

    void log(String call) {
      if (tracing) {
        trace.add("t=" + (now - 1_000_000_000L) / 1_000_000 + "ms " + call);
      }
    }

    MWorker worker(String id) {
      for (MWorker w : workers) {
        if (w.id.equals(id)) {
          return w;
        }
      }
      throw new AssertionError("unknown worker " + id);
    }

    static void count(String what) {
      COVERAGE.merge(what, 1, Integer::sum);
    }

    List<MTask> tasksWhere(java.util.function.Predicate<MTask> p) {
      List<MTask> list = new ArrayList<>();
      for (MTask t : live.values()) {
        if (p.test(t)) {
          list.add(t);
        }
      }
      return list;
    }

    int inFlightOn(MWorker w) {
      return tasksWhere(t -> t.loc == Loc.IN_FLIGHT && w.id.equals(t.worker)).size();
    }

    // ---- effects: the model follows them, checking each ----

    @Override
    public void dispatch(String workerId, TaskEnvelope task) {
      effectsInStep++;
      MWorker w = worker(workerId);
      MTask t = tasks.get(task.taskId());
      String what = "task " + task.taskId() + " to " + workerId;
      check(t != null && t.envelope.runId().equals(task.runId()), "dispatch-unknown: " + what);
      check(w.known && !w.down && !w.unreachable, "dispatch-not-ready: " + what);
      check(w.types.contains(task.taskType()), "dispatch-wrong-type: " + what);
      check(!w.suspended.contains(task.taskType()), "dispatch-suspended: " + what);
      check(t.loc != Loc.HELD, "dispatch-held: " + what + " while its flow's node is held");
      check(t.loc == Loc.PENDING, "dispatch-not-pending: " + what + " was " + t.loc);
      check(
          task.attempt() == t.attempt && task.attempt() > t.lastDispatched,
          "dispatch-attempt: "
              + what
              + " as attempt "
              + task.attempt()
              + ", expected "
              + t.attempt
              + " (last dispatched "
              + t.lastDispatched
              + ")");
      boolean reused = w.zombies.remove(t.id());
      count(reused ? "dispatch into its own zombie's slot" : "dispatch");
      t.loc = Loc.IN_FLIGHT;
      t.worker = workerId;
      t.lastDispatched = task.attempt();
      // a cancelled flow's task that just ended on this worker is forgotten without an effect
      int holds =
          tasksWhere(
                  x ->
                      x.loc == Loc.IN_FLIGHT
                          && workerId.equals(x.worker)
                          && !(x.cancelled && !queue.notHeld(List.of(x.id())).isEmpty()))
              .size();
      int room = w.capacity + (task.taskType().equals("negate") ? prefetch : 0);
      check(
          reused || holds + w.zombies.size() <= room,
          "dispatch-over-capacity: " + what + " holds " + holds + "+" + w.zombies);
      w.holdings.add(new Holding(task.taskId(), task.runId(), task.attempt()));
    }

    @Override
    public void reply(String replyTo, TaskOutcome outcome) {
      effectsInStep++;
      MTask t = tasks.get(outcome.taskId());
      String what = outcome.getClass().getSimpleName() + " of " + outcome.taskId();
      check(t != null, "outcome-unknown: " + what);
      check(replyTo.equals(t.replyTo), "outcome-wrong-flow: " + what + " to " + replyTo);
      check(
          t.outcomes == 0 && t.loc != Loc.DONE && t.loc != Loc.DROPPED,
          "outcome-twice: " + what + " (was " + t.loc + ")");
      check(!t.cancelled, "outcome-to-cancelled-flow: " + what);
      check(!(outcome instanceof TaskOutcome.Rejected), "outcome-rejected: " + what);
      if (outcome instanceof TaskOutcome.Succeeded) {
        check(
            current == Kind.SUCCEED && t.id().equals(succeedingTask),
            "outcome-success-without-result: " + what + " in " + current);
        succeededByType.merge(t.type(), 1, Integer::sum);
      } else {
        failedByType.merge(t.type(), 1, Integer::sum);
      }
      t.outcomes++;
      t.loc = Loc.DONE;
      count("outcome " + outcome.getClass().getSimpleName());
    }

    @Override
    public void retryLater(TaskEnvelope task, String workerId, int failures, String reason) {
      effectsInStep++;
      MTask t = tasks.get(task.taskId());
      check(
          t != null && t.loc == Loc.IN_FLIGHT && workerId.equals(t.worker),
          "retry-not-in-flight: " + task.taskId() + " on " + workerId);
      check(task.attempt() == t.attempt, "retry-attempt: " + task.taskId());
      t.loc = Loc.BACKOFF;
      t.worker = null;
      count("retry later");
      timers.put(t.id(), now + settings.retryBackoff(failures, 0.5).toNanos());
    }

    @Override
    public void putBack(TaskEnvelope task, String workerId, Redelivery cause, String budget) {
      effectsInStep++;
      MTask t = tasks.get(task.taskId());
      check(
          t != null
              && (t.loc == Loc.IN_FLIGHT || t.loc == Loc.DETACHED)
              && workerId.equals(t.worker),
          "putback-not-in-flight: " + task.taskId() + " from " + workerId + " (" + cause + ")");
      check(task.attempt() == t.attempt + 1, "putback-attempt: " + task.taskId());
      t.attempt = task.attempt();
      t.loc = holdActive[t.node] ? Loc.HELD : Loc.PENDING;
      count("put back " + cause + (t.loc == Loc.HELD ? " (held)" : ""));
      t.worker = null;
    }

    @Override
    public void cancel(String workerId, String taskId, String runId, String reason) {
      effectsInStep++;
      MWorker w = worker(workerId);
      for (Holding h : w.holdings) {
        if (h.taskId.equals(taskId) && h.runId.equals(runId)) {
          h.cancelled = true;
        }
      }
      MTask t = tasks.get(taskId);
      count("cancel in " + current);
      if (current == Kind.UNREACHABLE) {
        return; // its put-back follows, and the worker's slots are all cleared
      }
      check(
          t != null && t.loc == Loc.IN_FLIGHT && workerId.equals(t.worker),
          "cancel-not-in-flight: " + taskId + " on " + workerId + " in " + current);
      switch (current) {
        case CANCEL_FLOW -> t.cancelled = true;
        case GONE, NEW_RUN -> {
          t.loc = Loc.DROPPED;
          w.zombies.add(taskId);
        }
        default -> {
          t.loc = Loc.DETACHED;
          w.zombies.add(taskId);
        }
      }
    }

    @Override
    public void withdraw(String worker, String taskId, String runId) {
      throw new AssertionError("withdraw-unexpected: no task was reported waiting for a slot");
    }

    @Override
    public void superseded(String runId, int dropped, int cancelled) {
      superseded = runId + ":" + dropped + ":" + cancelled;
    }

    @Override
    public void runOver(TaskEnvelope task, String latestRun) {
      throw new AssertionError("run-over-unexpected: " + task.taskId());
    }

    // ---- operations ----

    TaskEnvelope envelope(int slot, String type) {
      Flow f = flows[slot];
      Object input = type.equals("add") ? new TestTasks.Pair(Num.of(1), Num.of(2)) : Num.of(3);
      return new TaskEnvelope("t" + ++taskN, f.flowId, run, type, 1, input, f.seq);
    }

    MTask track(TaskEnvelope e, int slot) {
      Flow f = flows[slot];
      MTask t = new MTask(e, f.replyTo, f.node, slot);
      t.loc = holdActive[f.node] ? Loc.HELD : Loc.PENDING;
      tasks.put(t.id(), t);
      live.put(t.id(), t);
      return t;
    }

    void step(Op op) {
      current = op.kind();
      succeedingTask = null;
      effectsInStep = 0;
      superseded = null;
      MWorker w = workers[op.a() % 3];
      switch (op.kind()) {
        case ENQUEUE -> {
          int slot = op.a() % 3;
          TaskEnvelope e = envelope(slot, TYPES.get(op.b() % 3));
          track(e, slot);
          log("enqueue " + e.taskId() + " " + e.taskType() + " " + flows[slot].replyTo);
          queue.enqueue(e, flows[slot].replyTo);
        }
        case ENQUEUE_BATCH -> {
          int slot = op.a() % 3;
          List<TaskEnvelope> batch = new ArrayList<>();
          for (int i = 0; i < 2 + op.b() % 3; i++) {
            TaskEnvelope e = envelope(slot, TYPES.get((op.c() >> i) % 3));
            track(e, slot);
            batch.add(e);
          }
          log("enqueueAll " + batch.stream().map(TaskEnvelope::taskId).toList());
          queue.enqueueAll(batch, flows[slot].replyTo);
        }
        case REPEAT_ENQUEUE -> {
          List<MTask> held = tasksWhere(t -> t.loc.queued() && !t.cancelled);
          if (held.isEmpty()) {
            return;
          }
          MTask t = held.get(op.b() % held.size());
          log("enqueue again " + t.id());
          queue.enqueue(t.envelope, t.replyTo);
          check(effectsInStep == 0, "repeat-enqueue-changed: " + t.id());
        }
        case JOIN, REANNOUNCE, RESTART -> announce(w, op);
        case SUCCEED, FAIL, FAIL_PERMANENT, DECLINE, CANCELLED_RETURNS -> report(w, op);
        case STALE_REPORT -> {
          if (w.ghosts.isEmpty()) {
            return;
          }
          Holding h = w.ghosts.remove(op.b() % w.ghosts.size());
          MTask t = tasks.get(h.taskId);
          boolean holdsIt = t != null && t.envelope.runId().equals(h.runId) && t.loc.queued();
          String call = w.id + " " + w.oldInc + " (old) " + h.taskId + " attempt " + h.attempt;
          if (op.c() % 2 == 0) {
            succeedingTask = h.taskId;
            current = Kind.SUCCEED;
            log("succeeded " + call);
            boolean ok = queue.succeeded(w.id, w.oldInc, h.taskId, h.runId, h.attempt, Num.of(9));
            check(ok == holdsIt, "stale-succeeded-return: " + ok + " for " + call);
            count(ok ? "late result of an old incarnation taken" : "result unknown");
          } else {
            log("failed " + call);
            boolean ok = queue.failed(w.id, w.oldInc, h.taskId, h.runId, h.attempt, "x", true);
            check(!ok, "stale-failure-counted: " + call);
          }
        }
        case LOSE_DISPATCH -> {
          List<Holding> live = w.holdings.stream().filter(h -> !h.cancelled).toList();
          if (!live.isEmpty()) {
            Holding h = live.get(op.b() % live.size());
            w.holdings.remove(h);
            log("(dispatch of " + h.taskId + " to " + w.id + " lost in transit)");
          }
        }
        case LOAD -> load(w);
        case TERMINATE -> {
          if (!w.known) {
            return;
          }
          log("workerTerminated " + w.id);
          w.known = false;
          w.ghosts.clear();
          w.down = false;
          w.unreachable = false;
          w.zombies.clear();
          w.holdings.clear();
          List<String> gone = queue.workerTerminated(w.id);
          check(gone.equals(List.of(w.id)), "terminated-ids: " + gone);
        }
        case GOING_DOWN -> {
          if (!w.known || w.down || w.unreachable) {
            return;
          }
          Set<String> causedBy = new HashSet<>();
          for (int i = 0; i < w.holdings.size(); i++) {
            if ((op.b() >> i & 1) == 1) {
              causedBy.add(w.holdings.get(i).taskId);
            }
          }
          int expected = inFlightOn(w);
          log("workerGoingDown " + w.id + " causedBy " + causedBy);
          w.zombies.clear();
          w.holdings.clear();
          w.ghosts.clear();
          w.down = true;
          int n = queue.workerGoingDown(w.id, w.inc, causedBy);
          check(n == expected, "going-down-count: " + n + " != " + expected);
        }
        case UNREACHABLE -> {
          if (!w.known || w.unreachable) {
            return;
          }
          int expected = inFlightOn(w);
          log("workerUnreachable " + w.id);
          w.zombies.clear();
          w.unreachable = true;
          int n = queue.workerUnreachable(w.id);
          check(n == expected, "unreachable-count: " + n + " != " + expected);
        }
        case REACHABLE -> {
          if (!w.known || !w.unreachable) {
            return;
          }
          log("workerReachable " + w.id);
          w.unreachable = false;
          queue.workerReachable(w.id);
        }
        case TIME -> {
          advance(STEPS_MILLIS[op.b() % STEPS_MILLIS.length]);
          return; // checks each timer and the lease tick itself
        }
        case HOLD -> {
          int node = op.a() % 2;
          boolean any = !tasksWhere(t -> t.node == node && t.loc.queued()).isEmpty();
          List<MTask> pending = tasksWhere(t -> t.node == node && t.loc == Loc.PENDING);
          String key = nodeKey(node);
          log("holdBack " + key);
          int n = queue.holdBack(key, r -> r.startsWith(key + "/"));
          check(n == pending.size(), "hold-count: " + n + " != " + pending.size());
          count(n > 0 ? "hold with tasks" : "hold");
          holdActive[node] |= any;
          pending.forEach(t -> t.loc = Loc.HELD);
        }
        case RELEASE -> release(op.a() % 2);
        case GONE -> {
          int node = op.a() % 2;
          List<MTask> waiting = tasksWhere(t -> t.node == node && t.loc.waiting());
          int inFlight = tasksWhere(t -> t.node == node && t.loc == Loc.IN_FLIGHT).size();
          String key = nodeKey(node);
          log("repliesGone " + key);
          TaskQueueState.GivenUp given = queue.repliesGone(key, r -> r.startsWith(key + "/"), "x");
          check(
              given.equals(new TaskQueueState.GivenUp(waiting.size(), inFlight)),
              "gone-count: " + given + " != " + waiting.size() + "," + inFlight);
          waiting.forEach(t -> t.loc = Loc.DROPPED);
          count(
              "node gone, dropped/cancelled "
                  + Math.min(1, waiting.size())
                  + "/"
                  + Math.min(1, inFlight));
          holdActive[node] = false;
          nodeGen[node]++;
          for (int i = 0; i < flows.length; i++) {
            if (flows[i].node == node) {
              renewFlow(i);
            }
          }
        }
        case CANCEL_FLOW -> {
          int slot = op.a() % 3;
          String flowId = flows[slot].flowId;
          List<MTask> waiting =
              tasksWhere(t -> t.envelope.flowId().equals(flowId) && t.loc.waiting());
          log("cancelFlow " + flowId);
          int n = queue.cancelFlow(flowId);
          check(n == waiting.size(), "cancel-flow-count: " + n + " != " + waiting.size());
          waiting.forEach(t -> t.loc = Loc.DROPPED);
          for (MTask t : tasksWhere(t -> t.envelope.flowId().equals(flowId))) {
            check(
                t.loc != Loc.IN_FLIGHT || t.cancelled,
                "cancel-flow-missed: " + t.id() + " in flight, not cancelled");
          }
          renewFlow(slot);
        }
        case NEW_RUN -> {
          String older = run;
          List<MTask> waiting =
              tasksWhere(t -> t.loc.waiting() && t.envelope.runId().equals(older));
          int inFlight =
              tasksWhere(t -> t.loc == Loc.IN_FLIGHT && t.envelope.runId().equals(older)).size();
          run = runId(++runN);
          for (int i = 0; i < flows.length; i++) {
            renewFlow(i);
          }
          if (op.b() % 2 == 0) {
            log("runStarted " + run);
            queue.runStarted(run);
          } else {
            int slot = op.c() % 3;
            TaskEnvelope e = envelope(slot, TYPES.get(op.c() % 3));
            // the new run's first task gives the older ones up before it is queued
            waiting.forEach(t -> t.loc = Loc.DROPPED);
            track(e, slot);
            log("enqueue " + e.taskId() + " of newer run " + run);
            queue.enqueue(e, flows[slot].replyTo);
          }
          waiting.forEach(t -> t.loc = Loc.DROPPED);
          count(
              "newer run, dropped/cancelled "
                  + Math.min(1, waiting.size())
                  + "/"
                  + Math.min(1, inFlight));
          String expected =
              waiting.size() + inFlight == 0 ? null : run + ":" + waiting.size() + ":" + inFlight;
          check(
              java.util.Objects.equals(expected, superseded),
              "superseded-count: " + superseded + " != " + expected);
        }
        default -> throw new IllegalStateException();
      }
      endStep();
    }

    void announce(MWorker w, Op op) {
      boolean fresh;
      switch (op.kind()) {
        case JOIN -> {
          if (w.known && w.down) {
            return;
          }
          fresh = !w.known;
        }
        case REANNOUNCE -> {
          if (!w.known || w.down) {
            return;
          }
          fresh = false;
          if (op.c() % 3 == 0) { // a capacity change: it gets nothing more until under it
            w.capacity = 1 + op.b() % 2;
            w.peakCapacity = Math.max(w.peakCapacity, w.capacity);
          }
        }
        default -> { // RESTART: a new incarnation, which holds nothing yet
          if (!w.known || w.unreachable) {
            return;
          }
          fresh = true;
        }
      }
      if (fresh) {
        w.ghosts.clear();
        if (w.known) {
          w.ghosts.addAll(w.holdings); // a restart without notice: they may still report
          w.oldInc = w.inc;
        }
        w.inc = "inc-" + ++w.incN;
        w.capacity = 1 + op.b() % 2;
        w.peakCapacity = w.capacity;
        Set<String> types = new TreeSet<>();
        int mask = op.c() % 7 + 1;
        for (int i = 0; i < 3; i++) {
          if ((mask >> i & 1) == 1) {
            types.add(TYPES.get(i));
          }
        }
        w.types = types;
        w.holdings.clear();
        w.zombies.clear();
        w.down = false;
      }
      w.known = true;
      w.suspended.clear();
      log("workerServes " + w.id + " " + w.inc + " " + w.types + " capacity " + w.capacity);
      queue.workerServes(w.id, w.inc, w.id, w.types, w.capacity);
    }

    void report(MWorker w, Op op) {
      if (!w.known || w.down || w.unreachable) {
        return;
      }
      boolean onlyCancelled = op.kind() == Kind.CANCELLED_RETURNS;
      List<Holding> candidates =
          w.holdings.stream().filter(h -> !onlyCancelled || h.cancelled).toList();
      if (candidates.isEmpty()) {
        return;
      }
      Holding h = candidates.get(op.b() % candidates.size());
      w.holdings.remove(h);
      if (onlyCancelled && op.c() % 2 == 0) {
        log("(" + w.id + " drops cancelled " + h.taskId + " before it started)");
        endStep();
        return;
      }
      MTask t = tasks.get(h.taskId);
      boolean sameRun = t != null && t.envelope.runId().equals(h.runId);
      boolean holdsIt = sameRun && t.loc.queued();
      boolean heldHere =
          holdsIt
              && t.loc == Loc.IN_FLIGHT
              && w.id.equals(t.worker)
              && h.attempt >= t.lastDispatched;
      w.zombies.remove(h.taskId); // any report on it frees the slot of an overrun compute
      String call = w.id + " " + w.inc + " " + h.taskId + " attempt " + h.attempt;
      switch (op.kind()) {
        case SUCCEED -> {
          succeedingTask = h.taskId;
          log("succeeded " + call);
          boolean ok = queue.succeeded(w.id, w.inc, h.taskId, h.runId, h.attempt, Num.of(9));
          count(ok ? (heldHere ? "result" : "late result taken") : "result unknown");
          check(ok == holdsIt, "succeeded-return: " + ok + " for " + call);
          if (holdsIt && !t.cancelled) {
            check(t.loc == Loc.DONE, "success-not-passed-on: " + call + " left it " + t.loc);
          }
        }
        case FAIL, FAIL_PERMANENT, CANCELLED_RETURNS -> {
          boolean retryable = op.kind() != Kind.FAIL_PERMANENT;
          log("failed " + call + (retryable ? " retryable" : " permanent"));
          boolean ok = queue.failed(w.id, w.inc, h.taskId, h.runId, h.attempt, "boom", retryable);
          check(ok == heldHere, "failed-return: " + ok + " for " + call);
          if (heldHere && !t.cancelled && !retryable) {
            check(t.loc == Loc.DONE, "permanent-failure-not-final: " + call + " " + t.loc);
          }
        }
        case DECLINE -> {
          log("declined " + call);
          boolean ok = queue.declined(w.id, w.inc, h.taskId, h.runId, h.attempt, false);
          check(ok == heldHere, "declined-return: " + ok + " for " + call);
          if (ok) {
            w.suspended.add(t.type());
          }
        }
        default -> throw new IllegalStateException();
      }
      endStep();
    }

    void load(MWorker w) {
      if (!w.known || w.down || w.unreachable) {
        return;
      }
      List<String> held = w.holdings.stream().map(h -> h.taskId).toList();
      log("workerLoad " + w.id + " " + held);
      w.zombies.retainAll(held);
      queue.workerLoad(w.id, w.inc, held);
    }

    void release(int node) {
      List<MTask> held = tasksWhere(t -> t.node == node && t.loc == Loc.HELD);
      // pending before the call: releaseHeld dispatches them within it
      held.forEach(t -> t.loc = Loc.PENDING);
      holdActive[node] = false;
      String key = nodeKey(node);
      log("releaseHeld " + key);
      int n = queue.releaseHeld(key);
      check(n == held.size(), "release-count: " + n + " != " + held.size());
      count(n > 0 ? "release with tasks" : "release");
    }

    /** Time passes: the retry timers due fire, oldest first, then the lease tick. */
    void advance(long millis) {
      now += millis * 1_000_000L;
      log("(time +" + millis + " ms)");
      List<Map.Entry<String, Long>> due = new ArrayList<>();
      for (Map.Entry<String, Long> e : timers.entrySet()) {
        if (e.getValue() <= now) {
          due.add(e);
        }
      }
      due.sort(Map.Entry.comparingByValue());
      for (Map.Entry<String, Long> e : due) {
        String id = e.getKey();
        timers.remove(id);
        current = Kind.TIME;
        effectsInStep = 0;
        MTask t = tasks.get(id);
        if (t != null && t.loc == Loc.BACKOFF) {
          t.attempt++;
          t.loc = holdActive[t.node] ? Loc.HELD : Loc.PENDING;
        }
        count("retry due");
        log("retryDue " + id);
        queue.retryDue(id);
        endStep();
      }
      current = Kind.TIME;
      effectsInStep = 0;
      log("expireLeases");
      queue.expireLeases();
      endStep();
    }

    /** Resolves what a step left detached, then checks every invariant. */
    void endStep() {
      Set<String> notHeld = new HashSet<>(queue.notHeld(live.keySet()));
      for (MTask t : live.values()) {
        if (t.loc == Loc.DETACHED) {
          check(
              t.cancelled,
              "vanished: " + t.id() + " was taken off worker " + t.worker + " and went nowhere");
          t.loc = Loc.DROPPED;
        }
        if (t.cancelled && t.loc == Loc.IN_FLIGHT && notHeld.contains(t.id())) {
          t.loc = Loc.DROPPED; // a cancelled flow's task ended on its worker: forgotten
          count("cancelled flow's task forgotten in " + current);
        }
      }
      Map<String, int[]> counts = new HashMap<>();
      Map<String, MTask> firstPending = new HashMap<>();
      int queued = 0;
      for (MTask t : live.values()) {
        boolean held = !notHeld.contains(t.id());
        check(
            held == t.loc.queued(),
            "conservation: "
                + t.id()
                + " is "
                + t.loc
                + " but the queue "
                + (held ? "holds" : "does not hold")
                + " it");
        if (t.loc == Loc.PENDING) {
          firstPending.putIfAbsent(t.type(), t);
        }
        int[] c = counts.computeIfAbsent(t.type(), k -> new int[2]);
        if (t.loc.waiting()) {
          c[0]++;
        } else if (t.loc == Loc.IN_FLIGHT) {
          c[1]++;
        }
        if (t.loc.queued()) {
          queued++;
        }
        check(t.loc != Loc.HELD || holdActive[t.node], "model-held-without-hold: " + t.id());
        check(
            t.loc != Loc.PENDING || !holdActive[t.node],
            "pending-under-hold: " + t.id() + " of a held node");
      }
      live.values().removeIf(t -> !t.loc.queued()); // checked not held once: final
      check(queue.size() == queued, "size: " + queue.size() + " != " + queued);
      QueueStats stats = queue.stats();
      for (String type : TYPES) {
        QueueStats.TypeStats s = stats.of(type);
        int[] c = counts.getOrDefault(type, new int[2]);
        check(s.pending() == c[0], "gauge-pending: " + type + " " + s.pending() + " != " + c[0]);
        check(
            s.inFlight() == c[1], "gauge-in-flight: " + type + " " + s.inFlight() + " != " + c[1]);
        check(
            s.completed() == succeededByType.getOrDefault(type, 0),
            "gauge-completed: " + type + " " + s.completed());
        check(
            s.failed() == failedByType.getOrDefault(type, 0),
            "gauge-failed: " + type + " " + s.failed());
      }
      for (MWorker w : workers) {
        int taken = queue.slotsTaken(w.id);
        if (!w.known) {
          check(taken == -1, "unknown-worker-has-slots: " + w.id);
          continue;
        }
        int inFlight = inFlightOn(w);
        int expected = inFlight + w.zombies.size();
        check(
            taken == expected,
            "slots: "
                + w.id
                + " has "
                + taken
                + " taken, model "
                + inFlight
                + " in flight + zombies "
                + w.zombies);
        check(queue.workerNumbers(w.id).inFlight() == taken, "fleet-in-flight: " + w.id);
        check(taken <= w.peakCapacity + prefetch, "over-capacity: " + w.id + " " + taken);
        int free = queue.freeSlots(w.id);
        check(free <= Math.max(0, w.capacity - taken), "free-slots: " + w.id + " " + free);
        check(
            free == 0 || !(w.down || w.unreachable), "free-while-not-ready: " + w.id + " " + free);
        if (free > 0) {
          for (String type : w.types) {
            if (w.suspended.contains(type)) {
              continue;
            }
            MTask pending = firstPending.get(type);
            if (pending == null) {
              continue;
            }
            check(
                false,
                "idle-with-pending: "
                    + w.id
                    + " has "
                    + free
                    + " free while "
                    + pending.id()
                    + " ("
                    + type
                    + ") is pending");
          }
        }
      }
    }

    /** Everything finishes: holds released, workers back and reporting, timers fire. */
    void drain() {
      current = Kind.RELEASE;
      for (int node = 0; node < 2; node++) {
        if (holdActive[node]) {
          effectsInStep = 0;
          release(node);
          endStep();
        }
      }
      for (MWorker w : workers) {
        if (w.known && w.unreachable) {
          current = Kind.REACHABLE;
          log("workerReachable " + w.id);
          w.unreachable = false;
          queue.workerReachable(w.id);
          endStep();
        }
        if (w.known && w.down) {
          current = Kind.RESTART;
          announce(w, new Op(Kind.RESTART, 0, 1, 6));
          endStep();
        }
      }
      MWorker wd = workers[3];
      wd.inc = "inc-1";
      wd.capacity = 2;
      wd.peakCapacity = 2;
      wd.types = Set.copyOf(TYPES);
      wd.known = true;
      current = Kind.JOIN;
      log("workerServes wd inc-1 " + wd.types + " capacity 2");
      queue.workerServes(wd.id, wd.inc, wd.id, wd.types, 2);
      endStep();
      for (int round = 0; round < 100; round++) {
        for (MWorker w : workers) {
          if (!w.known) {
            continue;
          }
          while (!w.holdings.isEmpty()) {
            Holding h = w.holdings.get(0);
            Kind kind = h.cancelled ? Kind.CANCELLED_RETURNS : Kind.SUCCEED;
            current = kind;
            succeedingTask = null;
            effectsInStep = 0;
            int index =
                w.holdings.stream().filter(x -> !h.cancelled || x.cancelled).toList().indexOf(h);
            report(w, new Op(kind, 0, index, 1));
          }
          current = Kind.LOAD;
          effectsInStep = 0;
          load(w);
          endStep();
        }
        if (queue.size() == 0 && tasksWhere(t -> t.loc.queued()).isEmpty()) {
          break;
        }
        advance(11_000);
      }
      for (MTask t : tasks.values()) {
        check(
            (t.loc == Loc.DONE && t.outcomes == 1) || (t.loc == Loc.DROPPED && t.outcomes == 0),
            "not-final: " + t.id() + " ended " + t.loc + " with " + t.outcomes + " outcomes");
      }
      for (MWorker w : workers) {
        if (w.known) {
          check(queue.slotsTaken(w.id) == 0, "slots-left: " + w.id + " " + queue.slotsTaken(w.id));
        }
      }
    }
  }
}
