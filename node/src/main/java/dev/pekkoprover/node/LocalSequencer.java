package dev.pekkoprover.node;

import dev.pekkoprover.sequencer.ProvingOrchestrator;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The sequencer singleton's instance while it runs on this node, for {@link ProverNode#run}.
 *
 * <p>A flow's logic is code: a {@code RunFlow} cannot be serialised, so it must reach the sequencer
 * in the same JVM. Through the singleton proxy it went to whichever node hosts the sequencer, and
 * where that was another node (this node a standby, or the singleton moving during a hand-over) it
 * was dropped there, its caller waiting out the 7-day flow timeout. Flows therefore go to the
 * instance here, and wait for one while the sequencer runs elsewhere: a standby's flows run once it
 * takes over (with durability on, a flow already completed under its name is answered from the
 * store).
 */
final class LocalSequencer {
  private CompletableFuture<ActorRef<ProvingOrchestrator.Command>> here = new CompletableFuture<>();

  private boolean ranHere;

  /**
   * {@code sequencer} as the singleton's behavior on this node: it announces its instance here when
   * it starts and withdraws it when it stops.
   */
  Behavior<ProvingOrchestrator.Command> hosting(Behavior<ProvingOrchestrator.Command> sequencer) {
    return Behaviors.setup(
        context -> {
          ActorRef<ProvingOrchestrator.Command> self = context.getSelf();
          arrived(self);
          return Behaviors.intercept(() -> new LeavesOnStop(self), sequencer);
        });
  }

  /** Completes with the instance on this node: at once while there is one, else when one starts. */
  synchronized CompletableFuture<ActorRef<ProvingOrchestrator.Command>> whenHere() {
    return here;
  }

  /** Whether the sequencer has run on this node (it may have stopped since). */
  synchronized boolean ranHere() {
    return ranHere;
  }

  private void arrived(ActorRef<ProvingOrchestrator.Command> instance) {
    CompletableFuture<ActorRef<ProvingOrchestrator.Command>> waiting;
    synchronized (this) {
      ranHere = true;
      if (here.isDone()) {
        here = CompletableFuture.completedFuture(instance);
        return;
      }
      waiting = here;
    }
    // outside the lock: the flows that waited send themselves on from here
    waiting.complete(instance);
  }

  private synchronized void left(ActorRef<ProvingOrchestrator.Command> instance) {
    if (here.isDone() && here.join().equals(instance)) {
      here = new CompletableFuture<>();
    }
  }

  /** Passes everything on; withdraws the instance on its {@link PostStop}. */
  private final class LeavesOnStop
      extends BehaviorInterceptor<ProvingOrchestrator.Command, ProvingOrchestrator.Command> {
    private final ActorRef<ProvingOrchestrator.Command> self;

    LeavesOnStop(ActorRef<ProvingOrchestrator.Command> self) {
      super(ProvingOrchestrator.Command.class);
      this.self = self;
    }

    @Override
    public Behavior<ProvingOrchestrator.Command> aroundReceive(
        TypedActorContext<ProvingOrchestrator.Command> context,
        ProvingOrchestrator.Command message,
        ReceiveTarget<ProvingOrchestrator.Command> target) {
      return target.apply(context, message);
    }

    @Override
    public Behavior<ProvingOrchestrator.Command> aroundSignal(
        TypedActorContext<ProvingOrchestrator.Command> context,
        Signal signal,
        SignalTarget<ProvingOrchestrator.Command> target) {
      if (signal instanceof PostStop) {
        left(self);
      }
      return target.apply(context, signal);
    }
  }
}
