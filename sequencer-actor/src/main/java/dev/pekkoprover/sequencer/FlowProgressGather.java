package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FlowsView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A short-lived child of the sequencer that answers one {@link ProvingOrchestrator.GetFlows}: asks
 * the listed flows for their progress and answers with the sequencer's counts and what came back
 * within the timeout, longest running first, then stops. A flow that does not answer in time (an
 * overloaded node) is left out, never waited for.
 */
final class FlowProgressGather {
  private FlowProgressGather() {}

  private enum Timeout implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * @param counts the sequencer's counts and recent failures; the answer is these with the progress
   *     filled in
   * @param timeout how long to wait for the flows ({@code prover.sequencer.progress-timeout})
   */
  static Behavior<FlowsView.FlowProgress> create(
      List<ActorRef<FlowRunner.Command>> flows,
      FlowsView counts,
      ActorRef<FlowsView> replyTo,
      Duration timeout) {
    return Behaviors.<Object>setup(
            context ->
                Behaviors.withTimers(
                    timers -> {
                      List<FlowsView.FlowProgress> answers = new ArrayList<>();
                      if (flows.isEmpty()) {
                        replyTo.tell(counts);
                        return Behaviors.stopped();
                      }
                      ActorRef<FlowsView.FlowProgress> self = context.getSelf().narrow();
                      flows.forEach(flow -> flow.tell(new FlowRunner.GetProgress(self)));
                      timers.startSingleTimer(Timeout.INSTANCE, timeout);
                      return Behaviors.receive(Object.class)
                          .onMessage(
                              FlowsView.FlowProgress.class,
                              progress -> {
                                answers.add(progress);
                                if (answers.size() < flows.size()) {
                                  return Behaviors.same();
                                }
                                replyTo.tell(with(counts, answers));
                                return Behaviors.stopped();
                              })
                          .onMessageEquals(
                              Timeout.INSTANCE,
                              () -> {
                                replyTo.tell(with(counts, answers));
                                return Behaviors.stopped();
                              })
                          .build();
                    }))
        .narrow();
  }

  private static FlowsView with(FlowsView counts, List<FlowsView.FlowProgress> progress) {
    List<FlowsView.FlowProgress> sorted = new ArrayList<>(progress);
    sorted.sort(Comparator.comparingLong(FlowsView.FlowProgress::runningMillis).reversed());
    return new FlowsView(
        counts.runId(),
        counts.started(),
        counts.running(),
        counts.completed(),
        counts.failed(),
        List.copyOf(sorted),
        counts.recentFailures());
  }
}
