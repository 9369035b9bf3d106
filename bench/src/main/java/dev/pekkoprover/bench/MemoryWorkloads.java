package dev.pekkoprover.bench;

import dev.pekkoprover.bench.Deployment.BenchNode;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.flow.FlowLogic;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The heap workloads ({@link Workloads}), each measured in a JVM of its own with a fixed -Xmx: an
 * idle node ({@code idle-heap}) and a million pending tasks ({@code pending-heap}).
 */
final class MemoryWorkloads extends WorkloadFamily {
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private static final String ONE_JVM_ONLY = "a_one-JVM_measurement(heap_of_one_JVM)";

  MemoryWorkloads(Shared shared) {
    super(shared);
  }

  /**
   * Heap of an idle node (queue, sequencer and one Ready worker) over the JVM's baseline, and what
   * each further worker adds (a node with {@code --workers} workers). Run in a JVM of its own.
   */
  void idleHeap() throws Exception {
    Line line =
        Line.ours("idle-heap")
            .tag("deployment", deployment.name())
            .tag("workers", options.workers());
    if (!deployment.name().equals("jvm")) {
      skippedLine(line, new WorkloadSkipped(ONE_JVM_ONLY));
      return;
    }
    int runs = options.runsOr(3);
    double[] one = new double[runs];
    double[] used = new double[runs];
    double[] perWorker = new double[runs];
    for (int r = -options.warmupOr(1); r < runs; r++) {
      long base = usedHeapAfterGc();
      long withNode = idleNodeHeap(1);
      double single = withNode - base;
      base = usedHeapAfterGc();
      double many = idleNodeHeap(options.workers()) - base;
      if (r >= 0) {
        one[r] = single / (1 << 20);
        used[r] = withNode / (double) (1 << 20);
        perWorker[r] = (many - single) / Math.max(1, options.workers() - 1) / 1024;
        comment(
            Line.ours("idle-heap")
                .tag("run", r + 1)
                .value("node_mb", one[r], 2)
                .value("per_worker_kb", perWorker[r], 1));
      }
    }
    out.accept(
        line.spread("node_mb", one, 2)
            .value("used_heap_mb", Line.median(used), 1)
            .spread("per_worker_kb", perWorker, 1)
            .tag("runs", runs)
            .value("xmx_mb", Runtime.getRuntime().maxMemory() / (double) (1 << 20), 0)
            .toString());
  }

  private long idleNodeHeap(int workers) throws Exception {
    BenchNode idle = deployment.start("idle", WorkerGroup.allTypes(workers, 1));
    try {
      Thread.sleep(
          1000); // let start-up garbage and lazy structures settle; the node is idle meanwhile
      return usedHeapAfterGc();
    } finally {
      idle.close();
    }
  }

  /**
   * 1,000,000 pending ~200-byte tasks in one queue that no worker serves. {@code mode=queue}:
   * enqueued straight into the queue actor in batches of 10,000 (the queue's bookkeeping alone);
   * {@code mode=flow}: pushed by one flow, so the sequencer's per-task records count too. Heap used
   * after GC minus the node's own, and per task.
   */
  void pendingHeap() throws Exception {
    for (String mode : List.of("queue", "flow")) {
      int n = options.pending();
      Line line =
          Line.ours("pending-heap")
              .tag("mode", mode)
              .tag("deployment", deployment.name())
              .tag("tasks", n);
      if (!deployment.name().equals("jvm")) {
        skippedLine(line, new WorkloadSkipped(ONE_JVM_ONLY));
        continue;
      }
      int runs = options.runsOr(3);
      double[] heap = new double[runs];
      double[] used = new double[runs];
      double[] rate = new double[runs];
      for (int r = -options.warmupOr(0); r < runs; r++) {
        // no worker: nothing is dispatched, everything stays pending
        ProverNode node = JvmDeployment.builder(config, "pending").start();
        try {
          Harness.await(node.ready(), 60);
          long base = usedHeapAfterGc();
          long t0 = System.nanoTime();
          if (mode.equals("queue")) {
            enqueueDirectly(node, n);
          } else {
            node.run(
                "pending",
                (FlowLogic<Long>)
                    scope -> {
                      for (int i = 0; i < n; i++) {
                        scope.push(BenchTasks.NOOP, BenchTasks.work(i, 0), seq -> {});
                      }
                    });
          }
          awaitPending(node, n);
          long t1 = System.nanoTime();
          long after = usedHeapAfterGc();
          if (options.histogram()) {
            histogram(12);
          }
          if (r >= 0) {
            heap[r] = (after - base) / (double) (1 << 20);
            used[r] = after / (double) (1 << 20);
            rate[r] = n / ((t1 - t0) / 1e9);
            comment(
                Line.ours("pending-heap")
                    .tag("run", r + 1)
                    .tag("mode", mode)
                    .value("heap_mb", heap[r], 1)
                    .value("bytes_per_task", (after - base) / (double) n, 0)
                    .value("used_heap_mb", used[r], 1));
          }
        } finally {
          node.close();
        }
      }
      double median = Line.median(heap);
      out.accept(
          line.spread("heap_mb", heap, 1)
              .value("bytes_per_task", median * (1 << 20) / n, 0)
              .value("used_heap_mb", Line.median(used), 1)
              .value("enqueue_per_s", Line.median(rate), 0)
              .value("xmx_mb", Runtime.getRuntime().maxMemory() / (double) (1 << 20), 0)
              .tag("runs", runs)
              .toString());
    }
  }

  /**
   * Enqueues n tasks into the queue actor in batches, as a flow's fan-out would, replies going
   * nowhere.
   */
  private static void enqueueDirectly(ProverNode node, int n) throws Exception {
    ActorRef<QueueCommand> queue = node.queue();
    int batch = 10_000;
    String runId = "bench-run";
    for (int from = 0; from < n; from += batch) {
      int to = Math.min(n, from + batch);
      List<TaskEnvelope> tasks = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        tasks.add(
            new TaskEnvelope(
                "pending:" + i,
                "pending",
                runId,
                BenchTasks.NOOP.name(),
                1,
                BenchTasks.work(i, 0)));
      }
      queue.tell(new QueueCommand.Enqueue(tasks, node.system().ignoreRef()));
      if ((to / batch) % 10 == 0) {
        awaitPending(node, to); // a bounded mailbox of batches: at most ten in flight
      }
    }
  }

  private static void awaitPending(ProverNode node, long n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (Harness.await(node.queueStats(), 30).of(BenchTasks.NOOP.name()).pending() < n) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the queue did not reach " + n + " pending tasks in 120 s");
      }
      Thread.sleep(20);
    }
  }

  /**
   * Prints the top classes of the live heap as comment lines (the JVM's GC.class_histogram
   * diagnostic command).
   */
  private void histogram(int top) throws Exception {
    String text =
        (String)
            ManagementFactory.getPlatformMBeanServer()
                .invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram",
                    new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
    text.lines().limit(top + 2).forEach(row -> out.accept("# histogram " + row.trim()));
  }

  static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
    return MEMORY.getHeapMemoryUsage().getUsed();
  }
}
