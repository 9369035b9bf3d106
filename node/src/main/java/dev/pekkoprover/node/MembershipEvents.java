package dev.pekkoprover.node;

import java.util.function.Function;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Subscribes an actor to what changes a cluster's membership as its members see it: member events
 * (joining, up, leaving, removed, downed) and reachability events (unreachable, reachable again),
 * each wrapped into the actor's own message. Pekko sends the current state first, as events, then
 * every change.
 */
public final class MembershipEvents {
  private MembershipEvents() {}

  /**
   * @param members wraps a {@link ClusterEvent.MemberEvent} into the actor's message
   * @param reachability wraps a {@link ClusterEvent.ReachabilityEvent} into the actor's message
   */
  public static <T> void subscribe(
      ActorContext<T> context,
      Function<ClusterEvent.MemberEvent, T> members,
      Function<ClusterEvent.ReachabilityEvent, T> reachability) {
    Cluster cluster = Cluster.get(context.getSystem());
    cluster
        .subscriptions()
        .tell(
            Subscribe.create(
                context.messageAdapter(ClusterEvent.MemberEvent.class, members::apply),
                ClusterEvent.MemberEvent.class));
    cluster
        .subscriptions()
        .tell(
            Subscribe.create(
                context.messageAdapter(ClusterEvent.ReachabilityEvent.class, reachability::apply),
                ClusterEvent.ReachabilityEvent.class));
  }
}
