package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.flow.FlowLogic;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Flow runners for tests: the node's {@code prover.sequencer} settings with a given resend-after.
 */
final class TestFlows {
  private TestFlows() {}

  /** A flow that never re-sends and stores nothing. */
  static <R> Behavior<FlowRunner.Command> create(
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo) {
    return create(flowId, runId, queue, logic, replyTo, Duration.ZERO, null);
  }

  /**
   * A flow that asks about a task {@code resendAfter} after sending it (zero: never), storing
   * nothing.
   */
  static <R> Behavior<FlowRunner.Command> create(
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo,
      Duration resendAfter) {
    return create(flowId, runId, queue, logic, replyTo, resendAfter, null);
  }

  /** As above, with the result store's read view and writer ({@code durable}, null: none). */
  static <R> Behavior<FlowRunner.Command> create(
      String flowId,
      String runId,
      ActorRef<QueueCommand> queue,
      FlowLogic<R> logic,
      ActorRef<FlowResult> replyTo,
      Duration resendAfter,
      FlowRunner.Durable durable) {
    return Behaviors.setup(
        context ->
            FlowRunner.create(
                flowId,
                1,
                runId,
                queue,
                logic,
                replyTo,
                SequencerSettings.fromConfig(context.getSystem().settings().config())
                    .withResendAfter(resendAfter),
                durable));
  }
}
