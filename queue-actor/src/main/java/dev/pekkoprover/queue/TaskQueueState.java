package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The task queue's bookkeeping, without an actor: pending tasks per type, which worker holds which task, leases,
 * failure counts and counters. An actor (or a test) calls it with what happened and receives through {@link Effects}
 * what to send. Not thread-safe: one owner calls it.
 *
 * <p>The one thing not to miss: after every call, no type has a pending task while a worker serving that type has a
 * free slot. Dispatch keeps that invariant cheaply, because each call only changes the free slots of one worker or
 * the pending tasks of one type.
 *
 * <p>How it stays O(1) per task on the success path: tasks are found by id in one map; a task's own record is also
 * its node in two intrusive lists (its type's in-flight list, ordered by dispatch time and so by lease deadline, and
 * its worker's held list), so finishing one unlinks it without searching or allocating. The workers serving a type
 * sit in a "ladder" of buckets by free slots; the best worker is the head of the highest non-empty bucket, and one
 * that takes a task moves to the tail of the bucket below, which spreads ties round-robin.
 *
 * <p>Slots: a worker holds at most its capacity. A task whose lease overran is put back, but its worker's slot stays
 * taken ("zombie") until that worker reports on it, restarts or terminates, so a hung worker gets no more work.
 *
 * <p>Declines: a task a worker declined is given to another eligible worker (serving the type, with a free slot) if
 * there is one at that moment, else to the same worker again. A worker announces a state change before it declines
 * tasks because of it, so the queue already knows; a worker that declines a type it still announces has a bug, and
 * every such decline is logged.
 *
 * @param <W> how a worker is addressed ({@code ActorRef<WorkerCommand>} in the actor)
 * @param <R> how a flow is addressed ({@code ActorRef<TaskOutcome>} in the actor)
 */
public final class TaskQueueState<W, R> {

  /** What the queue must send or schedule as a consequence of a call. */
  public interface Effects<W, R> {
    /** Hand this task to this worker. Hot path. */
    void dispatch(W worker, TaskEnvelope task);

    /** Tell a flow the one final outcome of its task. Hot path for {@link TaskOutcome.Succeeded}. */
    void reply(R replyTo, TaskOutcome outcome);

    /**
     * A compute failed on that worker and will be retried: call {@link #retryDue(String)} with this task's id after
     * the backoff for {@code failures}.
     */
    void retryLater(TaskEnvelope task, String workerId, int failures, String reason);

    /** A task was put back at the head of its queue ({@code task} carries the new attempt). */
    void putBack(TaskEnvelope task, String workerId, Redelivery cause);
  }

  /** Why a task in flight went back to its queue. */
  public enum Redelivery {
    DECLINED("declined by worker %s"),
    LEASE_OVERRUN("lease overran on worker %s"),
    WORKER_TERMINATED("worker %s terminated"),
    WORKER_RESTARTED("worker %s restarted (new incarnation)");

    private final String format;

    Redelivery(String format) {
      this.format = format;
    }

    /** For log lines: "lease overran on worker w-1". */
    public String describe(String workerId) {
      return String.format(format, workerId);
    }
  }

  private static final byte PENDING = 0;
  private static final byte IN_FLIGHT = 1;
  private static final byte BACKOFF = 2;
  private static final byte DONE = 3;

  private final TaskCatalog catalog;
  private final QueueSettings settings;
  private final Effects<W, R> effects;
  private final LongSupplier nanoClock;
  private final Map<String, TypeQueue> types = new HashMap<>();
  private final List<TypeQueue> typeList;
  private final Map<String, Task> tasks = new HashMap<>(1 << 14);
  private final Map<String, Worker> workers = new HashMap<>();
  private final ArrayList<Task> scratch = new ArrayList<>();
  private long unknownResults;
  private long repeatedEnqueues;
  /** Tasks accepted so far: each task's sequence number, so a worker's free slot goes to its oldest task. */
  private long enqueued;

  /**
   * @param catalog the task types this queue accepts; one queue per type
   * @param nanoClock monotonic time in nanoseconds ({@code System::nanoTime}; a manual clock in tests)
   */
  public TaskQueueState(TaskCatalog catalog, QueueSettings settings, Effects<W, R> effects, LongSupplier nanoClock) {
    this.catalog = catalog;
    this.settings = settings;
    this.effects = effects;
    this.nanoClock = nanoClock;
    for (String name : catalog.names()) {
      types.put(name, new TypeQueue(name, settings.leaseFor(name).toNanos()));
    }
    this.typeList = List.copyOf(types.values());
  }

  // ---- flows ----

  /**
   * Adds a task at the tail of its type's queue, or replies {@link TaskOutcome.Rejected} (unknown type, a payload
   * that could not cross a node, a task id already queued).
   */
  public void enqueue(TaskEnvelope envelope, R replyTo) {
    TypeQueue type = types.get(envelope.taskType());
    if (type == null) {
      reject(envelope, replyTo, catalog.unknownTypeMessage(envelope.taskType()));
      return;
    }
    Object payload = envelope.payload();
    if (payload != null && !AnyValue.isAllowed(payload.getClass())) {
      type.rejected++;
      reject(envelope, replyTo, "payload of class " + payload.getClass().getName()
          + " cannot travel as a task input: make it a record implementing " + CborSerializable.class.getName()
          + " (or use String, Long, Integer, Boolean, Double or BigInteger)");
      return;
    }
    Task task = new Task(envelope, replyTo, type, ++enqueued);
    if (tasks.putIfAbsent(envelope.taskId(), task) != null) {
      // Enqueue is idempotent: a flow sends a task again when its outcome is overdue (the first Enqueue or the
      // outcome may have been lost between nodes, or a queue entity that moved lost it); while the queue still
      // holds the task, the repeat changes nothing.
      repeatedEnqueues++;
      return;
    }
    type.pending.addLast(task);
    if (type.top > 0) {
      dispatch(type);
    }
  }

  /**
   * Drops a flow's pending tasks (also those waiting out a retry backoff); its tasks in flight finish and their
   * outcomes are dropped. Returns how many pending tasks were dropped. A scan: flows are cancelled rarely.
   */
  public int cancelFlow(String flowId) {
    int dropped = 0;
    for (Iterator<Task> it = tasks.values().iterator(); it.hasNext(); ) {
      Task task = it.next();
      if (!Objects.equals(task.envelope.flowId(), flowId)) {
        continue;
      }
      if (task.state == IN_FLIGHT) {
        task.cancelled = true;
        continue;
      }
      if (task.state == BACKOFF) {
        task.type.waiting--;
      }
      task.state = DONE;
      it.remove();
      dropped++;
    }
    if (dropped > 0) {
      for (TypeQueue type : typeList) {
        type.pending.removeIf(task -> task.state == DONE);
      }
    }
    return dropped;
  }

  // ---- workers ----

  /**
   * A worker serves these types with this capacity now. A new incarnation of a known worker puts back everything its
   * old incarnation held (each counts as a failed attempt). Types not in the catalog are ignored.
   */
  public void workerServes(String workerId, String incarnation, W worker, Set<String> taskTypes, int capacity) {
    Worker w = workers.get(workerId);
    List<TypeQueue> touched = List.of();
    if (w == null) {
      w = new Worker(workerId, incarnation, worker);
      workers.put(workerId, w);
    } else {
      w.ref = worker;
      if (!Objects.equals(w.incarnation, incarnation)) {
        touched = putBackAll(w, Redelivery.WORKER_RESTARTED);
        w.incarnation = incarnation;
      }
    }
    w.capacity = Math.max(0, capacity);
    w.unseatAll();
    List<Seat> seats = new ArrayList<>(taskTypes.size());
    for (String name : taskTypes) {
      TypeQueue type = types.get(name);
      if (type != null) {
        seats.add(new Seat(w, type));
      }
    }
    w.seats = seats.toArray(newSeats(0));
    int free = w.free();
    for (Seat seat : w.seats) {
      seat.type.seat(seat, free);
    }
    for (TypeQueue type : touched) {
      dispatch(type);
    }
    dispatchFor(w);
  }

  /**
   * A worker actor terminated: every task it held goes back (each counts as a failed attempt) and it is forgotten.
   * Returns the ids of the workers forgotten: none when no known worker has that address (never registered).
   */
  public List<String> workerTerminated(W worker) {
    List<Worker> gone = new ArrayList<>(1);
    for (Worker w : workers.values()) {
      if (w.ref.equals(worker)) {
        gone.add(w);
      }
    }
    for (Worker w : gone) {
      workers.remove(w.workerId);
      w.unseatAll();
      w.seats = newSeats(0);
      for (TypeQueue type : putBackAll(w, Redelivery.WORKER_TERMINATED)) {
        dispatch(type);
      }
    }
    List<String> ids = new ArrayList<>(gone.size());
    for (Worker w : gone) {
      ids.add(w.workerId);
    }
    return ids;
  }

  // ---- results ----

  /**
   * A task ran to completion. The first result for a task the queue holds (in flight, or put back and not yet run
   * again) goes to its flow; returns false (and counts it) for a task the queue does not hold.
   */
  public boolean succeeded(String workerId, String incarnation, String taskId, int attempt, Object result) {
    Task task = tasks.remove(taskId); // a task the queue holds is done after this, whoever reports it
    if (task != null && task.heldBy(workerId, incarnation)) {
      Worker w = task.holder;
      release(task);
      task.state = DONE;
      complete(task, workerId, attempt, result);
      dispatchFor(w);
      return true;
    }
    Worker reporter = freeZombieSlot(workerId, incarnation, taskId);
    if (task == null) {
      unknownResults++;
      if (reporter != null) {
        dispatchFor(reporter);
      }
      return false;
    }
    // A late result (lease overrun, or an earlier incarnation) for a task still held: the first result wins.
    switch (task.state) {
      case IN_FLIGHT -> {
        Worker other = task.holder;
        detach(task);
        other.addZombie(taskId); // it is still running the task: its slot stays taken until it reports
      }
      case PENDING -> task.type.pending.remove(task); // redelivered tasks sit near the head: a short search
      case BACKOFF -> task.type.waiting--;
      default -> { } // DONE: never indexed
    }
    task.state = DONE;
    complete(task, workerId, attempt, result);
    if (reporter != null) {
      dispatchFor(reporter);
    }
    return true;
  }

  /**
   * A task's compute failed on the worker that holds it: retried after a backoff when {@code retryable} and the
   * task has attempts left, else its flow gets {@link TaskOutcome.Failed}. Returns false (and counts it as an
   * unknown result) when that worker incarnation does not hold the task.
   */
  public boolean failed(String workerId, String incarnation, String taskId, String reason, boolean retryable) {
    Task task = tasks.get(taskId);
    if (task == null || !task.heldBy(workerId, incarnation)) {
      dropUnknown(workerId, incarnation, taskId);
      return false;
    }
    Worker w = task.holder;
    release(task);
    task.failures++;
    if (task.cancelled) {
      forget(task);
    } else if (retryable && task.failures < settings.maxAttempts()) {
      task.state = BACKOFF;
      task.type.waiting++;
      task.type.retried++;
      effects.retryLater(task.envelope, workerId, task.failures, reason);
    } else {
      giveUp(task, reason);
    }
    dispatchFor(w);
    return true;
  }

  /**
   * A worker refused a task it holds: it goes back to the head with attempt + 1, not counted as a failure, and to
   * another worker if one is free. Returns false (counted) when that worker incarnation does not hold the task.
   */
  public boolean declined(String workerId, String incarnation, String taskId) {
    Task task = tasks.get(taskId);
    if (task == null || !task.heldBy(workerId, incarnation)) {
      dropUnknown(workerId, incarnation, taskId);
      return false;
    }
    Worker w = task.holder;
    release(task);
    if (task.cancelled) {
      forget(task);
    } else {
      task.avoid = w;
      redeliver(task, workerId, Redelivery.DECLINED);
      dispatch(task.type);
    }
    dispatchFor(w);
    return true;
  }

  /** A retry backoff is over: the task goes back to the head of its queue with attempt + 1. */
  public void retryDue(String taskId) {
    Task task = tasks.get(taskId);
    if (task == null || task.state != BACKOFF) {
      return; // completed by a late result, or its flow was cancelled, while it waited
    }
    task.type.waiting--;
    toHead(task);
    dispatch(task.type);
  }

  /**
   * Puts back every task in flight whose lease has run out (each counts as a failed attempt); their workers' slots
   * stay taken until they report. Work is proportional to the number of expired leases. Returns that number.
   */
  public int expireLeases() {
    long now = nanoClock.getAsLong();
    int expired = 0;
    for (TypeQueue type : typeList) {
      Task task;
      while ((task = type.leaseHead) != null && task.deadline - now <= 0) {
        Worker w = task.holder;
        detach(task);
        w.addZombie(task.envelope.taskId()); // its slot stays taken until it reports, restarts or terminates
        scratch.add(task);
      }
      if (scratch.isEmpty()) {
        continue;
      }
      expired += scratch.size();
      // Oldest last, so that after the puts at the head the oldest is first again.
      for (int i = scratch.size() - 1; i >= 0; i--) {
        Task t = scratch.get(i);
        t.failures++;
        String workerId = t.lastWorkerId;
        if (t.cancelled) {
          forget(t);
        } else if (t.failures >= settings.maxAttempts()) {
          giveUp(t, "lease of " + type.leaseNanos / 1_000_000 + " ms overran on worker " + workerId
              + "; a failed compute, an overrun lease or a worker crash on each of " + t.failures + " attempts");
        } else {
          redeliver(t, workerId, Redelivery.LEASE_OVERRUN);
        }
      }
      scratch.clear();
      dispatch(type);
    }
    return expired;
  }

  // ---- reading ----

  public QueueStats stats() {
    Map<String, QueueStats.TypeStats> byType = new LinkedHashMap<>();
    for (String name : catalog.names()) {
      TypeQueue t = types.get(name);
      byType.put(name, new QueueStats.TypeStats(
          t.pending.size() + t.waiting, t.inFlight, t.completed, t.failed, t.redelivered, t.retried, t.rejected,
          0, 0, 0));
    }
    return new QueueStats(byType, workers.size(), unknownResults, repeatedEnqueues);
  }

  /** Slots of this worker that are taken (in flight plus zombies), or -1 for an unknown worker. */
  public int slotsTaken(String workerId) {
    Worker w = workers.get(workerId);
    return w == null ? -1 : w.busy;
  }

  /** Tasks the queue holds: pending, waiting out a backoff, or in flight. */
  public int size() {
    return tasks.size();
  }

  // ---- internals ----

  private void reject(TaskEnvelope envelope, R replyTo, String reason) {
    effects.reply(replyTo, new TaskOutcome.Rejected(
        envelope.taskId(), envelope.flowId(), envelope.runId(), envelope.taskType(), reason));
  }

  /** Hands the head of this type's queue to the best workers while both exist. */
  private void dispatch(TypeQueue type) {
    while (type.top > 0 && !type.pending.isEmpty()) {
      dispatchOne(type);
    }
  }

  /** Hands the head of this type's queue to the worker serving it with the most free slots. */
  private void dispatchOne(TypeQueue type) {
    Task task = type.pending.pollFirst();
    Worker w = type.heads[type.top].worker;
    if (task.avoid != null) {
      if (task.avoid == w) {
        Seat other = type.bestExcept(w);
        if (other != null) {
          w = other.worker;
        }
      }
      task.avoid = null;
    }
    start(task, w);
  }

  /**
   * A slot of this worker came free: it goes to the oldest task among the types it serves (first enqueued, first
   * served, across types), so a reduction does not overtake the leaves enqueued before it and no type starves.
   */
  private void dispatchFor(Worker w) {
    Seat[] seats = w.seats;
    while (w.free() > 0) {
      TypeQueue oldest = null;
      for (Seat seat : seats) {
        Task head = seat.type.pending.peekFirst();
        if (head != null && seat.type.top > 0 && (oldest == null || head.seq < oldest.pending.peekFirst().seq)) {
          oldest = seat.type;
        }
      }
      if (oldest == null) {
        return;
      }
      dispatchOne(oldest);
    }
  }

  private void start(Task task, Worker w) {
    TypeQueue type = task.type;
    task.state = IN_FLIGHT;
    task.holder = w;
    task.lastWorkerId = w.workerId;
    task.deadline = nanoClock.getAsLong() + type.leaseNanos;
    type.linkLease(task);
    w.linkHeld(task);
    type.inFlight++;
    w.busy++;
    w.reseat();
    effects.dispatch(w.ref, task.envelope);
  }

  /** Unlinks a task in flight from its lease list and its holder, and frees the holder's slot. */
  private void release(Task task) {
    Worker w = task.holder;
    detach(task);
    w.busy--;
    w.reseat();
  }

  /** Unlinks a task in flight from its lease list and its holder; the holder's slot stays taken. */
  private void detach(Task task) {
    task.type.unlinkLease(task);
    task.holder.unlinkHeld(task);
    task.type.inFlight--;
    task.holder = null;
  }

  private void complete(Task task, String workerId, int attempt, Object result) {
    if (task.cancelled) {
      return;
    }
    TaskEnvelope e = task.envelope;
    task.type.completed++;
    effects.reply(task.replyTo, new TaskOutcome.Succeeded(
        e.taskId(), e.flowId(), e.runId(), e.taskType(), attempt, workerId, result));
  }

  private void giveUp(Task task, String reason) {
    forget(task);
    task.type.failed++;
    TaskEnvelope e = task.envelope;
    effects.reply(task.replyTo, new TaskOutcome.Failed(
        e.taskId(), e.flowId(), e.runId(), e.taskType(), e.attempt(), reason));
  }

  private void forget(Task task) {
    tasks.remove(task.envelope.taskId());
    task.state = DONE;
  }

  private void redeliver(Task task, String workerId, Redelivery cause) {
    toHead(task);
    task.type.redelivered++;
    effects.putBack(task.envelope, workerId, cause);
  }

  private void toHead(Task task) {
    task.envelope = task.envelope.withAttempt(task.envelope.attempt() + 1);
    task.state = PENDING;
    task.type.pending.addFirst(task);
  }

  /**
   * Puts back every task this worker holds (each a failed attempt), oldest first at the head, and clears its slots.
   * Returns the types that got tasks back; the caller dispatches them once the worker's seats are up to date.
   */
  private List<TypeQueue> putBackAll(Worker w, Redelivery cause) {
    List<TypeQueue> touched = new ArrayList<>(2);
    for (Task task = w.heldTail; task != null; ) {
      Task previous = task.heldPrev;
      task.type.unlinkLease(task);
      task.type.inFlight--;
      task.heldPrev = null;
      task.heldNext = null;
      task.holder = null;
      task.failures++;
      if (task.cancelled) {
        forget(task);
      } else if (task.failures >= settings.maxAttempts()) {
        giveUp(task, "worker " + w.workerId + " " + (cause == Redelivery.WORKER_TERMINATED ? "terminated" : "restarted")
            + " while running it; a failed compute, an overrun lease or a worker crash on each of "
            + task.failures + " attempts");
      } else {
        redeliver(task, w.workerId, cause);
        if (!touched.contains(task.type)) {
          touched.add(task.type);
        }
      }
      task = previous;
    }
    w.heldHead = null;
    w.heldTail = null;
    w.zombies = null;
    w.busy = 0;
    w.reseat();
    return touched;
  }

  /** A report from a worker that does not hold the task: free its zombie slot if it had one, count it, go on. */
  private void dropUnknown(String workerId, String incarnation, String taskId) {
    unknownResults++;
    Worker reporter = freeZombieSlot(workerId, incarnation, taskId);
    if (reporter != null) {
      dispatchFor(reporter);
    }
  }

  private Worker freeZombieSlot(String workerId, String incarnation, String taskId) {
    Worker w = workers.get(workerId);
    if (w == null || w.zombies == null || !Objects.equals(w.incarnation, incarnation) || !w.zombies.remove(taskId)) {
      return null;
    }
    w.busy--;
    w.reseat();
    return w;
  }

  /** One task, from enqueue until its outcome: also its node in its type's lease list and its worker's held list. */
  private final class Task {
    TaskEnvelope envelope;
    /** Order of acceptance; kept on redelivery and retry, so a task put back stays older than later ones. */
    final long seq;
    final R replyTo;
    final TypeQueue type;
    byte state = PENDING;
    boolean cancelled;
    int failures;
    Worker holder;
    String lastWorkerId;
    Worker avoid;
    long deadline;
    Task leasePrev;
    Task leaseNext;
    Task heldPrev;
    Task heldNext;

    Task(TaskEnvelope envelope, R replyTo, TypeQueue type, long seq) {
      this.envelope = envelope;
      this.seq = seq;
      this.replyTo = replyTo;
      this.type = type;
    }

    boolean heldBy(String workerId, String incarnation) {
      Worker w = holder;
      return w != null && w.workerId.equals(workerId) && Objects.equals(w.incarnation, incarnation);
    }
  }

  /** One type's queue: pending tasks, tasks in flight by lease deadline, the ladder of workers serving it. */
  private final class TypeQueue {
    final String name;
    final long leaseNanos;
    final ArrayDeque<Task> pending = new ArrayDeque<>(256);
    int waiting;
    int inFlight;
    long completed;
    long failed;
    long redelivered;
    long retried;
    long rejected;
    Task leaseHead;
    Task leaseTail;
    /** heads[b] / tails[b]: workers serving this type with b free slots, longest there first. */
    Seat[] heads = newSeats(4);
    Seat[] tails = newSeats(4);
    /** Highest b >= 1 with a worker, or 0 when no worker has a free slot. */
    int top;

    TypeQueue(String name, long leaseNanos) {
      this.name = name;
      this.leaseNanos = leaseNanos;
    }

    // Every type has one lease, so dispatch order is deadline order: append at the tail.
    void linkLease(Task task) {
      task.leaseNext = null;
      task.leasePrev = leaseTail;
      if (leaseTail == null) {
        leaseHead = task;
      } else {
        leaseTail.leaseNext = task;
      }
      leaseTail = task;
    }

    void unlinkLease(Task task) {
      if (task.leasePrev == null) {
        leaseHead = task.leaseNext;
      } else {
        task.leasePrev.leaseNext = task.leaseNext;
      }
      if (task.leaseNext == null) {
        leaseTail = task.leasePrev;
      } else {
        task.leaseNext.leasePrev = task.leasePrev;
      }
      task.leasePrev = null;
      task.leaseNext = null;
    }

    void seat(Seat seat, int free) {
      int b = Math.max(0, free);
      link(seat, b);
      if (b > top) {
        top = b;
      }
    }

    void unseat(Seat seat) {
      unlink(seat);
      lowerTop();
    }

    /** The worker's free slots changed: it goes to the tail of its new bucket. */
    void move(Seat seat, int free) {
      int b = Math.max(0, free);
      if (b == seat.bucket) {
        return;
      }
      unlink(seat);
      link(seat, b);
      if (b > top) {
        top = b;
      } else {
        lowerTop();
      }
    }

    /** The best worker with a free slot other than {@code excluded}, or null. */
    Seat bestExcept(Worker excluded) {
      for (int b = top; b > 0; b--) {
        for (Seat s = heads[b]; s != null; s = s.next) {
          if (s.worker != excluded) {
            return s;
          }
        }
      }
      return null;
    }

    private void lowerTop() {
      while (top > 0 && heads[top] == null) {
        top--;
      }
    }

    private void link(Seat seat, int b) {
      if (b >= heads.length) {
        int size = Math.max(b + 1, heads.length * 2);
        heads = Arrays.copyOf(heads, size);
        tails = Arrays.copyOf(tails, size);
      }
      seat.bucket = b;
      seat.next = null;
      seat.prev = tails[b];
      if (tails[b] == null) {
        heads[b] = seat;
      } else {
        tails[b].next = seat;
      }
      tails[b] = seat;
    }

    private void unlink(Seat seat) {
      int b = seat.bucket;
      if (seat.prev == null) {
        heads[b] = seat.next;
      } else {
        seat.prev.next = seat.next;
      }
      if (seat.next == null) {
        tails[b] = seat.prev;
      } else {
        seat.next.prev = seat.prev;
      }
      seat.prev = null;
      seat.next = null;
    }
  }

  /** A worker's place in one type's ladder. */
  private final class Seat {
    final Worker worker;
    final TypeQueue type;
    int bucket;
    Seat prev;
    Seat next;

    Seat(Worker worker, TypeQueue type) {
      this.worker = worker;
      this.type = type;
    }
  }

  /** A worker as the queue knows it: its current incarnation, capacity, types and the tasks it holds. */
  private final class Worker {
    final String workerId;
    String incarnation;
    W ref;
    int capacity;
    /** Taken slots: tasks in flight here plus zombies. */
    int busy;
    Seat[] seats = newSeats(0);
    Task heldHead;
    Task heldTail;
    /** Tasks whose lease overran here; each keeps a slot until this worker reports on it. Rare, so a set. */
    Set<String> zombies;

    Worker(String workerId, String incarnation, W ref) {
      this.workerId = workerId;
      this.incarnation = incarnation;
      this.ref = ref;
    }

    int free() {
      return capacity - busy;
    }

    void reseat() {
      int free = capacity - busy;
      for (Seat seat : seats) {
        seat.type.move(seat, free);
      }
    }

    void unseatAll() {
      for (Seat seat : seats) {
        seat.type.unseat(seat);
      }
    }

    void addZombie(String taskId) {
      if (zombies == null) {
        zombies = new HashSet<>(4);
      }
      zombies.add(taskId);
    }

    void linkHeld(Task task) {
      task.heldNext = null;
      task.heldPrev = heldTail;
      if (heldTail == null) {
        heldHead = task;
      } else {
        heldTail.heldNext = task;
      }
      heldTail = task;
    }

    void unlinkHeld(Task task) {
      if (task.heldPrev == null) {
        heldHead = task.heldNext;
      } else {
        task.heldPrev.heldNext = task.heldNext;
      }
      if (task.heldNext == null) {
        heldTail = task.heldPrev;
      } else {
        task.heldNext.heldPrev = task.heldPrev;
      }
      task.heldPrev = null;
      task.heldNext = null;
    }
  }

  @SuppressWarnings("unchecked")
  private TaskQueueState<W, R>.Seat[] newSeats(int size) {
    return (TaskQueueState<W, R>.Seat[]) new TaskQueueState.Seat[size];
  }
}
