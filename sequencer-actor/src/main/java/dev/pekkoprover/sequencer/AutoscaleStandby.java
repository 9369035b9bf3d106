package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.QueueCommand;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Keeps the autoscaling memory ({@link AutoscaleClasses}) of a node with role sequencer that stands
 * by: every {@link #EVERY} (or {@code prover.autoscale.interval} when shorter) while the sequencer
 * runs on another node, it asks the queue for the fleet view and runs an {@link AutoscaleSignal} on
 * it, exporting nothing (only the sequencer's node exports the gauges, so nothing is counted
 * twice). What it keeps is each worker class seen, each class's slots per worker and each type's
 * mean run time.
 *
 * <p>Not to miss: when the node that ran both the sequencer and queue entities is lost, the
 * entities start again with no run counted and the sequencer takes over here. Without this memory
 * its signal counted every re-sent task at {@code unmeasured-run-time} (10 s) until the first runs
 * came back: minutes for real proofs, long enough for an autoscaler to act on a demand tens of
 * times too high (or, for proofs longer than 10 s, too low, and scale down busy workers).
 *
 * <p>Costs one fleet question (one message to each queue entity) every 2 s on each standby, never
 * two at once.
 */
public final class AutoscaleStandby {
  private AutoscaleStandby() {}

  /**
   * How often a standby asks: more often than the exported signal's 10 s, since a takeover may come
   * seconds after work began (a test's sequencer node proved for 6 s before its kill, and a keeper
   * asking every 10 s had seen no run).
   */
  static final Duration EVERY = Duration.ofSeconds(2);

  /** How long a question may stay unanswered before the keeper asks again. */
  static final Duration GIVE_UP_AFTER = Duration.ofSeconds(30);

  /** What the memory keeper receives. */
  public interface Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record WrappedFleet(FleetView view) implements Command {}

  /**
   * The keeper; spawn it on a cluster node with role sequencer when {@code settings.enabled()}.
   *
   * @param queue the queue front on this node
   * @param settings the autoscale settings: what the signal needs, and an interval shorter than
   *     {@link #EVERY} if any
   * @param sequencerHere true while the sequencer runs on this node (its exported signal keeps the
   *     memory then; the keeper asks nothing)
   */
  public static Behavior<Command> create(
      ActorRef<QueueCommand> queue, AutoscaleSettings settings, BooleanSupplier sequencerHere) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  Duration every =
                      settings.interval().compareTo(EVERY) < 0 ? settings.interval() : EVERY;
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, every);
                  ActorRef<FleetView> answers =
                      context.messageAdapter(FleetView.class, WrappedFleet::new);
                  // its own samples: a window of views taken while standing by
                  AutoscaleSignal signal =
                      new AutoscaleSignal(settings, AutoscaleClasses.get(context.getSystem()));
                  // when the question not answered yet was asked (nanoTime); 0: none is open
                  long[] asked = {0};
                  return Behaviors.receive(Command.class)
                      .onMessageEquals(
                          Tick.INSTANCE,
                          () -> {
                            long now = System.nanoTime();
                            // one question at a time: a gathering may take the stats timeout (3 s)
                            // while a queue node is lost; a reply lost for good is given up
                            boolean open =
                                asked[0] != 0 && now - asked[0] < GIVE_UP_AFTER.toNanos();
                            if (!open && !sequencerHere.getAsBoolean()) {
                              asked[0] = now;
                              queue.tell(new QueueCommand.GetFleet(answers));
                            }
                            return Behaviors.same();
                          })
                      .onMessage(
                          WrappedFleet.class,
                          wrapped -> {
                            asked[0] = 0;
                            if (!sequencerHere.getAsBoolean()) {
                              signal.update(wrapped.view(), System.nanoTime());
                            }
                            return Behaviors.same();
                          })
                      .build();
                }));
  }
}
