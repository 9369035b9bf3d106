package dev.pekkoprover.node;

import dev.pekkoprover.sequencer.ProvingOrchestrator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent.MemberRemoved;
import org.apache.pekko.cluster.Member;
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
 * <p>Not to miss: "removed", not "unreachable". An unreachable queue node still owns its shards,
 * and a message to them waits or is lost until the node is downed and removed; only then do the
 * entities start elsewhere, and a re-send earlier would go to the old node.
 */
final class QueueNodeWatcher {
  private final ActorContext<MemberRemoved> context;
  private final ActorRef<ProvingOrchestrator.Command> sequencer;
  private final UniqueAddress self;

  private QueueNodeWatcher(
      ActorContext<MemberRemoved> context, ActorRef<ProvingOrchestrator.Command> sequencer) {
    this.context = context;
    this.sequencer = sequencer;
    Cluster cluster = Cluster.get(context.getSystem());
    this.self = cluster.selfMember().uniqueAddress();
    cluster.subscriptions().tell(Subscribe.create(context.getSelf(), MemberRemoved.class));
  }

  static Behavior<MemberRemoved> create(ActorRef<ProvingOrchestrator.Command> sequencer) {
    return Behaviors.setup(
        context -> {
          context.setLoggerName(
              QueueNodeWatcher.class); // else a Pekko logger, which a node's logback keeps at WARN
          return new QueueNodeWatcher(context, sequencer).watching();
        });
  }

  private Behavior<MemberRemoved> watching() {
    return Behaviors.receive(MemberRemoved.class)
        .onMessage(MemberRemoved.class, this::onMemberRemoved)
        .build();
  }

  private Behavior<MemberRemoved> onMemberRemoved(MemberRemoved removed) {
    Member member = removed.member();
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
