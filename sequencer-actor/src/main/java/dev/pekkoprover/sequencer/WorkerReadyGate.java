package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.WorkerState;
import dev.pekkoprover.protocol.WorkerStateChanged;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The worker-ready gate: completes {@code whenReady} once every worker of this node has been Ready,
 * and at once on a node without workers. The node's workers are given this actor as their state
 * listener, so no state change can slip past before it listens. A worker that restarts later does
 * not reopen the gate: it only guards start-up.
 */
public final class WorkerReadyGate {
  private WorkerReadyGate() {}

  public static Behavior<WorkerStateChanged> create(
      Set<String> localWorkerIds, CompletableFuture<Void> whenReady) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              WorkerReadyGate.class); // else a Pekko logger, kept at WARN by a node's logback
          Set<String> waitingFor = new HashSet<>(localWorkerIds);
          if (waitingFor.isEmpty()) {
            context.getLog().info("No local worker: the worker-ready gate opens at once");
            whenReady.complete(null);
            return Behaviors.ignore();
          }
          return Behaviors.receive(WorkerStateChanged.class)
              .onMessage(
                  WorkerStateChanged.class,
                  changed -> {
                    if (changed.state() == WorkerState.READY
                        && waitingFor.remove(changed.workerId())
                        && waitingFor.isEmpty()) {
                      context
                          .getLog()
                          .info(
                              "All {} local worker(s) are Ready: the gate opens",
                              localWorkerIds.size());
                      whenReady.complete(null);
                      return Behaviors.ignore();
                    }
                    return Behaviors.same();
                  })
              .build();
        });
  }
}
