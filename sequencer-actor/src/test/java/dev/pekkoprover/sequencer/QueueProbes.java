package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.QueueCommand;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

/** Reading a probe that plays the queue for a flow or the registration loop. */
final class QueueProbes {
  private QueueProbes() {}

  /**
   * The next {@code Enqueue} within 5 s, passing over the {@code CheckHeld}s that a periodic check
   * or a loss check sends meanwhile: their timers run on their own, and on a loaded machine one can
   * come before the {@code Enqueue} the test caused. Any other message fails.
   */
  static QueueCommand.Enqueue nextEnqueue(TestProbe<QueueCommand> queue) {
    return (QueueCommand.Enqueue)
        queue
            .fishForMessage(
                Duration.ofSeconds(5),
                m ->
                    m instanceof QueueCommand.Enqueue
                        ? FishingOutcomes.complete()
                        : m instanceof QueueCommand.CheckHeld
                            ? FishingOutcomes.continueAndIgnore()
                            : FishingOutcomes.fail("expected an Enqueue, got " + m))
            .get(0);
  }
}
