package dev.pekkoprover.node;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * The members this JVM's cluster nodes saw leave the cluster gracefully (Leaving, then Exiting,
 * then removed: SIGTERM, a rolling restart, {@code --exit-when-done}), for the log filters: a
 * member that left this way exits its process about when the others remove it, and a connection
 * still open to it can end with "Connection reset", which Pekko Streams logs as a WARN of the
 * outbound stream (cluster-config's {@code OutboundAbortFilter} denies it for these members only; a
 * killed node's reset still shows).
 *
 * <p>A member counts from its Leaving or Exiting event until {@link #AFTER_REMOVAL} after its
 * removal. It stops counting at once when it is downed (a fault, not a leave) or when a new
 * incarnation joins at the same address (another uid): the log's stream lines name the address
 * only. The registry is one per JVM, since a log filter has no actor system; every cluster node of
 * the JVM fills it through {@link #watch()}, and all of them are members of the one cluster.
 */
public final class GracefulLeaves {
  /**
   * How long after its removal a member that left gracefully still counts: its process exits within
   * about a second of its Exiting, and Artery quarantines it {@code
   * pekko.cluster.quarantine-removed-node-after} (5 s) after removal, which ends every stream to
   * it.
   */
  static final Duration AFTER_REMOVAL = Duration.ofSeconds(30);

  /** A member still leaving or exiting: no removal time yet. */
  private static final long NOT_REMOVED = Long.MIN_VALUE;

  /** What is known of one address: the incarnation that left, and when it was removed. */
  private record Left(long uid, long removedAtNanos) {}

  /** Address as {@code Address.toString()} writes it ({@code pekko://system@host:port}). */
  private static final Map<String, Left> LEFT = new ConcurrentHashMap<>();

  private GracefulLeaves() {}

  /**
   * Whether the member at this address (as {@code pekko://system@host:port}, the form Pekko's
   * stream lines use) is leaving or left gracefully, and not more than {@link #AFTER_REMOVAL} ago.
   */
  public static boolean leftGracefully(String address) {
    return leftGracefully(address, System.nanoTime());
  }

  static boolean leftGracefully(String address, long nowNanos) {
    Left left = LEFT.get(address);
    return left != null
        && (left.removedAtNanos() == NOT_REMOVED
            || nowNanos - left.removedAtNanos() <= AFTER_REMOVAL.toNanos());
  }

  /**
   * Listens to this node's member events and keeps the registry; one per cluster node, spawned by
   * the node's guardian.
   */
  public static Behavior<MemberChange> watch() {
    return Behaviors.setup(
        context -> {
          Cluster.get(context.getSystem())
              .subscriptions()
              .tell(
                  Subscribe.create(
                      context.messageAdapter(ClusterEvent.MemberEvent.class, MemberChange::new),
                      ClusterEvent.MemberEvent.class));
          return Behaviors.receive(MemberChange.class)
              .onAnyMessage(
                  change -> {
                    onMemberEvent(change.event(), System.nanoTime());
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /** Local only: a member event this node's cluster published. */
  public record MemberChange(ClusterEvent.MemberEvent event)
      implements NoSerializationVerificationNeeded {}

  /** Applies one member event as seen at {@code nowNanos}. */
  static void onMemberEvent(ClusterEvent.MemberEvent event, long nowNanos) {
    Member member = event.member();
    String address = member.address().toString();
    long uid = member.uniqueAddress().longUid();
    if (event instanceof ClusterEvent.MemberLeft || event instanceof ClusterEvent.MemberExited) {
      LEFT.merge(
          address,
          new Left(uid, NOT_REMOVED),
          (known, leaving) -> known.uid() == uid ? known : leaving);
    } else if (event instanceof ClusterEvent.MemberRemoved removed) {
      MemberStatus before = removed.previousStatus();
      if (before == MemberStatus.exiting() || before == MemberStatus.leaving()) {
        LEFT.put(address, new Left(uid, nowNanos));
      } else {
        LEFT.computeIfPresent(address, (key, known) -> known.uid() == uid ? null : known);
      }
      forgetExpired(nowNanos);
    } else if (event instanceof ClusterEvent.MemberDowned) {
      LEFT.computeIfPresent(address, (key, known) -> known.uid() == uid ? null : known);
    } else {
      // joining, weakly up, up: a new incarnation at an address that left
      LEFT.computeIfPresent(address, (key, known) -> known.uid() == uid ? known : null);
    }
  }

  private static void forgetExpired(long nowNanos) {
    LEFT.values()
        .removeIf(
            left ->
                left.removedAtNanos() != NOT_REMOVED
                    && nowNanos - left.removedAtNanos() > AFTER_REMOVAL.toNanos());
  }

  /** Tests only: forgets every member. */
  static void clear() {
    LEFT.clear();
  }
}
