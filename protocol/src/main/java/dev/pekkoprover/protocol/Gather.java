package dev.pekkoprover.protocol;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A short-lived actor that collects the answers to one question asked of several actors (a sharded
 * queue's entities, a sequencer's flows), replies with their merge once all have answered, or with
 * what came within the timeout, and stops. Whoever spawns it asks the question with its ref as the
 * reply-to. A slow answerer is left out, never waited for. (The queue front's gatherings of its
 * entities, which recur and stand in for a missing answer with the last one, are {@link
 * KeyedGather}.)
 */
public final class Gather {
  private Gather() {}

  private enum Timeout implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * @param expected how many answers complete the gathering; 0 replies at once with the merge of
   *     none
   * @param merge makes the reply of the answers received (all, or those in time)
   */
  public static <A, R> Behavior<A> create(
      Class<A> answerClass,
      int expected,
      Duration timeout,
      Function<List<A>, R> merge,
      ActorRef<R> replyTo) {
    return Behaviors.<Object>setup(
            context -> {
              context.setLoggerName(Gather.class);
              return Behaviors.withTimers(
                  timers -> {
                    List<A> answers = new ArrayList<>();
                    if (expected == 0) {
                      replyTo.tell(merge.apply(answers));
                      return Behaviors.stopped();
                    }
                    timers.startSingleTimer(Timeout.INSTANCE, timeout);
                    return Behaviors.receive(Object.class)
                        .onMessage(
                            answerClass,
                            answer -> {
                              answers.add(answer);
                              if (answers.size() < expected) {
                                return Behaviors.same();
                              }
                              replyTo.tell(merge.apply(answers));
                              return Behaviors.stopped();
                            })
                        .onMessageEquals(
                            Timeout.INSTANCE,
                            () -> {
                              replyTo.tell(merge.apply(answers));
                              return Behaviors.stopped();
                            })
                        .build();
                  });
            })
        .narrow();
  }
}
