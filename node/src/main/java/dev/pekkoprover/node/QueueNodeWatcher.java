package dev.pekkoprover.node;

import dev.pekkoprover.sequencer.ProvingOrchestrator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent.MemberEvent;
import org.apache.pekko.cluster.ClusterEvent.MemberExited;
import org.apache.pekko.cluster.ClusterEvent.MemberLeft;
import org.apache.pekko.cluster.ClusterEvent.MemberRemoved;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * Tells the sequencer when a cluster member with role {@code queue} has been removed (it left, or
 * was downed): the queue entities it hosted start again, empty, on another queue node, and only the
 * sequencer's flows know which tasks they held ({@link ProvingOrchestrator.QueueNodeLost}). Runs on
 * every node with role {@code sequencer} and tells the singleton through its proxy, so with a
 * standby sequencer node the sequencer hears of one loss more than once (it acts once).
 *
 * <p>It also tells the sequencer when a queue member leaves (Leaving or Exiting: {@link
 * ProvingOrchestrator.QueueNodeLeaving}): its shards were handed off just before, so until its
 * removal the queue may answer that it no longer holds tasks of those entities, which is then
 * expected rather than a loss nobody reported. A queue node says so itself as its shutdown begins,
 * before the hand-off ({@code NodeGuardian}); this is the fallback when that message was lost.
 *
 * <p>Not to miss: "removed", not "unreachable". An unreachable queue node still owns its shards,
 * and a message to them waits or is lost until the node is downed and removed; only then do the
 * entities start elsewhere, and a re-send earlier would go to the old node.
 */
final class QueueNodeWatcher {
  private final ActorContext<MemberEvent> context;
  private final ActorRef<ProvingOrchestrator.Command> sequencer;
  private final UniqueAddress self;

  private QueueNodeWatcher(
      ActorContext<MemberEvent> context, ActorRef<ProvingOrchestrator.Command> sequencer) {
    this.context = context;
    this.sequencer = sequencer;
    Cluster cluster = Cluster.get(context.getSystem());
    this.self = cluster.selfMember().uniqueAddress();
    cluster.subscriptions().tell(Subscribe.create(context.getSelf(), MemberEvent.class));
  }

  static Behavior<MemberEvent> create(ActorRef<ProvingOrchestrator.Command> sequencer) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              QueueNodeWatcher.class); // else a Pekko logger, which a node's logback keeps at WARN
          return new QueueNodeWatcher(context, sequencer).watching();
        });
  }

  private Behavior<MemberEvent> watching() {
    return Behaviors.receive(MemberEvent.class)
        .onMessage(MemberRemoved.class, this::onMemberRemoved)
        .onMessage(MemberLeft.class, left -> onMemberLeaving(left.member()))
        .onMessage(MemberExited.class, exited -> onMemberLeaving(exited.member()))
        .onAnyMessage(other -> Behaviors.same())
        .build();
  }

  /**
   * Whether {@code removed} was downed while it hosted the sequencer singleton (it had role
   * sequencer and no member with that role in {@code members}, the cluster after its removal, is
   * older): the singleton then starts on the next node only after this removal, so no run that will
   * read the news has a task on the removed node's queue entities. A node that left gracefully
   * (previously Exiting) handed the singleton over before its removal, and the new run may have
   * sent tasks to its entities meanwhile: it is told.
   */
  static boolean hostedTheSequencer(
      Member removed, MemberStatus previousStatus, Iterable<Member> members) {
    if (previousStatus != MemberStatus.down() || !removed.hasRole(ProverNode.SEQUENCER_ROLE)) {
      return false;
    }
    for (Member member : members) {
      if (member.hasRole(ProverNode.SEQUENCER_ROLE)
          && !member.uniqueAddress().equals(removed.uniqueAddress())
          && member.isOlderThan(removed)) {
        return false;
      }
    }
    return true;
  }

  private Behavior<MemberEvent> onMemberLeaving(Member member) {
    if (member.hasRole(ProverNode.QUEUE_ROLE) && !member.uniqueAddress().equals(self)) {
      sequencer.tell(
          new ProvingOrchestrator.QueueNodeLeaving(
              member.address().toString(), member.uniqueAddress().longUid()));
    }
    return Behaviors.same();
  }

  private Behavior<MemberEvent> onMemberRemoved(MemberRemoved removed) {
    Member member = removed.member();
    if (hostedTheSequencer(
        member, removed.previousStatus(), Cluster.get(context.getSystem()).state().getMembers())) {
      // the proxy would keep the message until the next sequencer starts, after this removal, and
      // that new run would re-send tasks it has just sent (a takeover's "queue node ... left:
      // re-sent 5 pending task(s)" for a node removed before the run began)
      context
          .getLog()
          .debug(
              "Queue node {} downed and removed with the sequencer it hosted: the next run starts"
                  + " after this, nothing to tell",
              member.address());
      return Behaviors.same();
    }
    if (member.hasRole(ProverNode.QUEUE_ROLE) && !member.uniqueAddress().equals(self)) {
      context
          .getLog()
          .debug(
              "Queue node {} removed (was {}): telling the sequencer",
              member.address(),
              removed.previousStatus());
      sequencer.tell(
          new ProvingOrchestrator.QueueNodeLost(
              member.address().toString(), member.uniqueAddress().longUid()));
    }
    return Behaviors.same();
  }
}
