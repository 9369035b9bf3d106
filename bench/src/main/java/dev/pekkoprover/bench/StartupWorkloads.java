package dev.pekkoprover.bench;

import dev.pekkoprover.bench.Deployment.BenchNode;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The start-up workloads ({@link Workloads}): a fleet of workers starting with the node ({@code
 * fleet}) and a worker joining a running node ({@code join}).
 */
final class StartupWorkloads extends WorkloadFamily {
  StartupWorkloads(Shared shared) {
    super(shared);
  }

  /**
   * 100 workers in one JVM, all starting at once with the node; they register one after another
   * through the registration loop. Time from the node's actors being spawned to every worker Ready
   * ({@code ready_ms}), and including the actor system's own start ({@code with_system_ms}).
   */
  void fleet() throws Exception {
    int workers = options.workers();
    Line line = Line.ours("fleet").tag("workers", workers).tag("deployment", deployment.name());
    if (!deployment.name().equals("jvm")) {
      skippedLine(line, new WorkloadSkipped("a_one-JVM_workload(the_cluster_case_is_join)"));
      return;
    }
    int runs = options.runsOr(5);
    int warmup = options.warmupOr(3);
    double[] ready = new double[runs];
    double[] withSystem = new double[runs];
    CpuMeter series = new CpuMeter();
    for (int r = -warmup; r < runs; r++) {
      if (r == 0) {
        series.start();
      }
      long t0 = System.nanoTime();
      ProverNode node =
          JvmDeployment.builder(config, "fleet").workers(WorkerGroup.allTypes(workers, 1)).start();
      long spawned = System.nanoTime();
      try {
        Harness.await(node.ready(), 60);
        long allReady = System.nanoTime();
        int registered = Harness.await(node.registrationStatus(), 10).registrations();
        check(registered == workers, registered + " workers registered, expected " + workers);
        if (r >= 0) {
          ready[r] = (allReady - spawned) / 1e6;
          withSystem[r] = (allReady - t0) / 1e6;
          comment(
              Line.ours("fleet")
                  .tag("run", r + 1)
                  .value("ready_ms", ready[r], 2)
                  .value("with_system_ms", withSystem[r], 2));
        }
      } finally {
        node.close();
      }
    }
    double[] load = series.stop();
    out.accept(
        cpu(
                line.spread("ready_ms", ready, 2)
                    .spread("with_system_ms", withSystem, 2)
                    .tag("runs", runs),
                load)
            .toString());
  }

  /**
   * A worker joining a running node. In one JVM ({@code deployment=jvm}) the analogue: {@code
   * addWorker} to that worker Ready (it registers through the loop like any newcomer). Across
   * processes: member Up to worker Ready.
   */
  void join() throws Exception {
    Line line = Line.ours("join").tag("deployment", deployment.name());
    if (deployment instanceof ClusterDeployment cluster) {
      clusterJoin(cluster, line.tag("from", "member_up"));
      return;
    }
    line.tag("from", "add_worker");
    try (BenchNode bench = deployment.start("join", WorkerGroup.allTypes(1, 1))) {
      ProverNode node = bench.node();
      Map<String, CompletableFuture<Long>> readyAt = new ConcurrentHashMap<>();
      ActorRef<WorkerStateChanged> listener =
          node.system()
              .systemActorOf(
                  Behaviors.receive(WorkerStateChanged.class)
                      .onMessage(
                          WorkerStateChanged.class,
                          changed -> {
                            if (changed.state() == WorkerState.READY) {
                              readyAt
                                  .computeIfAbsent(
                                      changed.workerId(), id -> new CompletableFuture<>())
                                  .complete(System.nanoTime());
                            }
                            return Behaviors.same();
                          })
                      .build(),
                  "bench-ready-listener",
                  Props.empty());
      node.system()
          .eventStream()
          .tell(new EventStream.Subscribe<>(WorkerStateChanged.class, listener));
      // the subscription is in place once a marker published after it comes back
      String marker = "subscribed-" + UUID.randomUUID();
      node.system()
          .eventStream()
          .tell(new EventStream.Publish<>(new WorkerStateChanged(marker, "-", WorkerState.READY)));
      Harness.await(readyAt.computeIfAbsent(marker, id -> new CompletableFuture<>()), 10);

      int runs = options.runsOr(10);
      int warmup = options.warmupOr(5);
      double[] ready = new double[runs];
      CpuMeter series = new CpuMeter();
      for (int r = -warmup; r < runs; r++) {
        if (r == 0) {
          series.start();
        }
        long t0 = System.nanoTime();
        // the joined workers stay (idle, Ready): stopping them would only add the queue's clean-up
        // to the next run
        String workerId = Harness.await(node.addWorker(List.of(), 1), 10);
        long at =
            Harness.await(readyAt.computeIfAbsent(workerId, id -> new CompletableFuture<>()), 10);
        if (r >= 0) {
          ready[r] = (at - t0) / 1e6;
          comment(Line.ours("join").tag("run", r + 1).value("ready_ms", ready[r], 3));
        }
      }
      double[] load = series.stop();
      out.accept(cpu(line.spread("ready_ms", ready, 3).tag("runs", runs), load).toString());
    }
  }

  /**
   * A worker node process joining a running cluster (the bench node, with one worker process
   * already serving): {@code ready_ms} from the new member's Up to its worker Ready (its node's
   * {@code ready()}), wall clock on this machine. Up is the earlier of two sightings: the bench
   * node's {@code MemberUp} event and the new node's own (its {@code registerOnMemberUp}); Pekko
   * publishes member events once gossip has converged, so neither is the leader's decision itself
   * and either may come first. {@code seen_up_ms}: the new node's sighting minus the bench node's.
   * {@code launch_to_up_ms}: from starting the process (a fresh JVM, as a joining node is) to the
   * bench node's sighting, for scale.
   */
  private void clusterJoin(ClusterDeployment cluster, Line line) throws Exception {
    try (BenchNode bench = cluster.start("join", WorkerGroup.allTypes(1, 1))) {
      ProverNode node = bench.node();
      Map<String, CompletableFuture<Long>> upAt = ClusterDeployment.memberUpTimes(node);
      int runs = options.runsOr(5);
      int warmup = options.warmupOr(1);
      double[] ready = new double[runs];
      double[] seenUp = new double[runs];
      double[] launchToUp = new double[runs];
      CpuMeter series = new CpuMeter();
      for (int r = -warmup; r < runs; r++) {
        if (r == 0) {
          series.start();
        }
        try (WorkerProcess joining =
            cluster.launchWorker(node, "joining" + (r + warmup + 1), WorkerGroup.allTypes(1, 1))) {
          long readyMicros = joining.awaitReady(90);
          String address = joining.address(10);
          long upMicros =
              Harness.await(upAt.computeIfAbsent(address, a -> new CompletableFuture<>()), 10);
          ClusterDeployment.awaitRegistered(node, joining.workerIds(), 10);
          long seenUpMicros = joining.seenUpMicros(10);
          if (r >= 0) {
            // the earlier of the two sightings of Up: a node publishes MemberUp only once gossip
            // converges, so the
            // bench node (the leader, which decided it) may hear it after the new node does
            ready[r] = (readyMicros - Math.min(upMicros, seenUpMicros)) / 1e3;
            seenUp[r] = (seenUpMicros - upMicros) / 1e3;
            launchToUp[r] = (upMicros - joining.launchedMicros()) / 1e3;
            comment(
                Line.ours("join")
                    .tag("run", r + 1)
                    .value("ready_ms", ready[r], 3)
                    .value("seen_up_ms", seenUp[r], 3)
                    .value("launch_to_up_ms", launchToUp[r], 1));
          }
        }
      }
      double[] load = series.stop();
      out.accept(
          cpu(
                  line.spread("ready_ms", ready, 3)
                      .spread("seen_up_ms", seenUp, 3)
                      .spread("launch_to_up_ms", launchToUp, 1)
                      .tag("runs", runs),
                  new double[] {load[0], load[1] + load[2]})
              .toString());
    }
  }
}
