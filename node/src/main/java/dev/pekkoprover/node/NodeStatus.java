package dev.pekkoprover.node;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.FlowsView;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.UnservedTypes;
import dev.pekkoprover.sequencer.AutoscaleClasses;
import dev.pekkoprover.sequencer.AutoscaleSettings;
import dev.pekkoprover.sequencer.AutoscaleSignal;
import dev.pekkoprover.sequencer.NodeProblems;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Puts a node's {@link StatusReport} together: the fleet from the queue ({@link
 * QueueCommand.GetFleet}, through this node's queue or queue front), the flows from the sequencer
 * wherever it runs (found through the receptionist), this node's readiness, and the autoscaling
 * signal computed from the fleet. Whatever does not answer within {@code
 * prover.http.status-timeout} is left out and named in {@code problems}; the report itself always
 * comes.
 */
final class NodeStatus {

  /** What {@code /health/ready} answers: ready, or why not. */
  record Readiness(boolean ready, String reason) {}

  /** This node's address, roles and member status, and its readiness, at the moment of asking. */
  interface Self {
    StatusReport.NodeInfo info();

    Readiness readiness();
  }

  private final ActorSystem<?> system;
  private final ActorRef<QueueCommand> queue;
  private final Duration timeout;
  private final AutoscaleSettings autoscale;
  private final Self self;

  NodeStatus(ActorSystem<?> system, ActorRef<QueueCommand> queue, Duration timeout, Self self) {
    this.system = system;
    this.queue = queue;
    this.timeout = timeout;
    this.autoscale = AutoscaleSettings.fromConfig(system.settings().config());
    this.self = self;
  }

  Readiness readiness() {
    return self.readiness();
  }

  CompletionStage<StatusReport> report() {
    CompletableFuture<FleetView> fleet =
        orNull(AskPattern.ask(queue, QueueCommand.GetFleet::new, timeout, system.scheduler()));
    CompletableFuture<ActorRef<ProvingOrchestrator.GetFlows>> found =
        sequencer().toCompletableFuture();
    // the sequencer's node unreachable (killed, paused, cut off): its flows cannot answer, so they
    // are not waited for, and the problem line says where the sequencer is (the receptionist drops
    // an unreachable node's sequencer soon, and "none is listed" read as if none had started)
    String sequencerNodeUnreachable = sequencerNodeUnreachable();
    CompletableFuture<FlowsView> flows =
        orNull(
            found.thenCompose(
                sequencer ->
                    sequencer == null || sequencerNodeUnreachable != null
                        ? CompletableFuture.completedFuture(null)
                        : AskPattern.ask(
                            sequencer,
                            ProvingOrchestrator.GetFlows::new,
                            timeout,
                            system.scheduler())));
    return fleet.thenCombine(
        flows,
        (fleetView, flowsView) -> {
          List<String> problems = new ArrayList<>();
          List<AutoscaleSignal.Demand> demands = List.of();
          String noQueueNode = noQueueNode();
          if (fleetView == null) {
            problems.add(
                noQueueNode != null
                    ? noQueueNode
                    : "the queue did not answer within "
                        + seconds(timeout)
                        + ": no workers, queues or queue failures");
          } else {
            if (noQueueNode != null && fleetView.answered() == 0) {
              // the queue nodes unreachable, not gone: what their entities last answered shows
              problems.add(
                  fleetView.carriedOver().isEmpty()
                      ? noQueueNode
                      : "no node with role queue is Up and reachable; " + partialLine(fleetView));
            } else if (fleetView.answered() < fleetView.asked()) {
              problems.add(partialLine(fleetView));
            }
            // tasks that wait for a worker none in the fleet will ever be: their flows wait too
            String unserved = UnservedTypes.problem(fleetView);
            if (unserved != null) {
              problems.add(unserved);
            }
            // fresh (the mean of all runs), but naming every class the node's exported signal has
            // seen: the same classes as the metric, also once a class's workers are all gone
            demands =
                new AutoscaleSignal(autoscale, AutoscaleClasses.get(system))
                    .update(fleetView, System.nanoTime());
          }
          if (flowsView != null) {
            problems.addAll(flowsView.problems());
          }
          if (flowsView == null) {
            // none listed is known at once: no wait was waited (a trial read "within 5 s" of an
            // answer in 0.09 s after the sequencer's run had ended)
            problems.add(
                sequencerNodeUnreachable != null
                    ? sequencerNodeUnreachable
                    : found.isDone()
                            && !found.isCompletedExceptionally()
                            && found.getNow(null) == null
                        ? noneListedLine(sequencerNode())
                        : "no sequencer answered within "
                            + seconds(timeout)
                            + " (none running, or still starting): no flows");
          }
          // this node's own (its TLS files): the sequencer's answer carries its node's only
          for (String own : NodeProblems.get(system).current()) {
            if (!problems.contains(own)) {
              problems.add(own);
            }
          }
          return StatusReport.of(self.info(), fleetView, flowsView, demands, problems);
        });
  }

  /**
   * The sequencer's flows endpoint from the receptionist (any node of the cluster), or null when
   * none is listed.
   */
  private CompletionStage<ActorRef<ProvingOrchestrator.GetFlows>> sequencer() {
    CompletionStage<Receptionist.Listing> listing =
        AskPattern.ask(
            system.receptionist(),
            (ActorRef<Receptionist.Listing> replyTo) ->
                Receptionist.find(ProvingOrchestrator.FLOWS_KEY, replyTo),
            timeout,
            system.scheduler());
    return listing.thenApply(
        found -> {
          var instances = found.getServiceInstances(ProvingOrchestrator.FLOWS_KEY);
          return instances.isEmpty() ? null : instances.iterator().next();
        });
  }

  /**
   * The problem line of a fleet view that not every queue entity answered in time: how many did,
   * why not (when the queue front knows a normal reason), and how many of the others are shown as
   * they last answered, and how long ago ({@link FleetView#carriedOver()}); the rest are left out.
   */
  static String partialLine(FleetView view) {
    StringBuilder line =
        new StringBuilder("only ")
            .append(view.answered())
            .append(" of ")
            .append(view.asked())
            .append(" queue entities answered in time");
    line.append(" (")
        .append(
            view.partialBecause() != null
                ? view.partialBecause()
                : dev.pekkoprover.queue.QueueFront.NO_KNOWN_REASON)
        .append(')');
    String carried = carriedPart(view);
    return line.append(": ")
        .append(carried == null ? "workers and queues are partial" : carried)
        .toString();
  }

  /**
   * Which of the entities that did not answer the view shows as they last answered, and how old
   * that is ({@code "the other 3 are shown as they last answered, up to 5 s ago"}); null when none.
   */
  static String carriedPart(FleetView view) {
    int carried = view.carriedOver().size();
    if (carried == 0) {
      return null;
    }
    int missing = view.asked() - view.answered();
    StringBuilder line = new StringBuilder();
    if (carried < missing) {
      line.append(carried).append(" of ");
    }
    line.append("the other ")
        .append(missing)
        .append(" are shown as they last answered, up to ")
        .append(Math.max(1, Math.round(view.carriedOverMillis() / 1000.0)))
        .append(" s ago");
    if (carried < missing) {
      line.append(", and ").append(missing - carried).append(" left out");
    }
    return line.toString();
  }

  /** Whether this node's shutdown has begun (or its actor system has ended). */
  boolean shuttingDown() {
    return system.whenTerminated().isCompleted()
        || org.apache.pekko.actor.CoordinatedShutdown.get(system).getShutdownReason().isPresent();
  }

  private static <T> CompletableFuture<T> orNull(CompletionStage<T> stage) {
    return stage.toCompletableFuture().exceptionally(error -> null);
  }

  /** A timeout as an operator reads it: "5 s", "0.5 s" (not Duration's "PT5S"). */
  static String seconds(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + " s"
        : String.format(java.util.Locale.ROOT, "%.1f s", duration.toMillis() / 1000.0);
  }

  /**
   * The problem line when the receptionist lists no sequencer; {@code runsOn}: {@code host:port} of
   * the node it runs on or starts on next (the oldest Up or Leaving member with role sequencer), or
   * null when there is none (or in one JVM). A trial read "it has not started yet, or it ended" for
   * the 7 s of a takeover between the old node's removal and the sequencer's start on the next.
   */
  static String noneListedLine(String runsOn) {
    return "no sequencer runs in the cluster now (none is listed: it has not started yet"
        + (runsOn == null
            ? ", or it ended"
            : " on " + runsOn + ", the oldest node with role sequencer, or its run ended there")
        + "): no flows";
  }

  /** {@code host:port} of the oldest Up or Leaving member with role sequencer; null if none. */
  private String sequencerNode() {
    if (!"cluster".equals(system.settings().config().getString("pekko.actor.provider"))) {
      return null;
    }
    org.apache.pekko.cluster.Member runsOn =
        ProverNode.sequencerMember(org.apache.pekko.cluster.typed.Cluster.get(system).state());
    return runsOn == null ? null : ProverNode.hostPort(runsOn.address());
  }

  /**
   * In a cluster whose sequencer's node (the oldest Up or Leaving member with role sequencer) is
   * unreachable from here: the problem line that says so; else null.
   */
  private String sequencerNodeUnreachable() {
    if (!"cluster".equals(system.settings().config().getString("pekko.actor.provider"))) {
      return null;
    }
    var state = org.apache.pekko.cluster.typed.Cluster.get(system).state();
    org.apache.pekko.cluster.Member runsOn = ProverNode.sequencerMember(state);
    if (runsOn == null || !state.getUnreachable().contains(runsOn)) {
      return null;
    }
    return sequencerUnreachableLine(ProverNode.hostPort(runsOn.address()));
  }

  /** {@link #sequencerNodeUnreachable}'s line for the node at {@code hostPort}. */
  static String sequencerUnreachableLine(String hostPort) {
    return "the sequencer's node "
        + hostPort
        + " is unreachable: no flows; if it stays unreachable, it is downed and the sequencer"
        + " starts again on the oldest other node with role sequencer (a new run; it goes on from"
        + " the store with durability on)";
  }

  /**
   * In a cluster with no node with role queue Up and reachable: the problem line that says why no
   * worker or queue shows (they come from the queue's entities), and where this node's own workers
   * do; else null. A trial's {@code status} of a worker node whose sequencer node had left read
   * "workers: 0" with "only 0 of 2 queue entities answered", while its worker was Ready.
   */
  private String noQueueNode() {
    if (!"cluster".equals(system.settings().config().getString("pekko.actor.provider"))) {
      return null;
    }
    if (WaitingForPeers.queueNodeUp(org.apache.pekko.cluster.typed.Cluster.get(system).state())) {
      return null;
    }
    return "no node with role queue is Up and reachable: workers and queues come from the queue's"
        + " entities, so none show here (this node's own workers are in its /metrics,"
        + " prover_workers)";
  }
}
