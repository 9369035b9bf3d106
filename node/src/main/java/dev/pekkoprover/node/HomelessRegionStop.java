package dev.pekkoprover.node;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.actor.PoisonPill;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shutdown task (phase {@code before-cluster-shutdown}) of a cluster node without the queue
 * role: when no node with that role is Up, WeaklyUp or Leaving, it stops this node's shard region
 * (a proxy) at once. Such a region buffers every message for the queue (a sequencer's tasks, its
 * checks) until a coordinator gives their shards a home, and its graceful shutdown in the next
 * phase waits until that buffer is empty: with no queue node it never is, so a sequencer-only node
 * stopped while it waited for a queue node held its exit for the whole {@code
 * cluster-sharding-shutdown-region} phase (10 s) and then logged Pekko's WARN "Graceful shutdown of
 * shard region timed out, region will be stopped. Remaining shards [], remaining buffered messages
 * [37]" (LauncherWaitsIT's sequencer node). Those messages had nowhere to go either way; the node's
 * own lines (the job's did-not-finish line, the waiting line) already said so. With a queue node Up
 * the region shuts down as Pekko does it, delivering what it holds.
 */
final class HomelessRegionStop {
  private static final Logger LOG = LoggerFactory.getLogger(HomelessRegionStop.class);

  private HomelessRegionStop() {}

  /** The task for {@code region}, a proxy of the entities on nodes with {@code queueRole}. */
  static Supplier<CompletionStage<Done>> task(
      ActorSystem<?> system, ActorRef<?> region, String queueRole) {
    return () -> {
      if (!anyHome(Cluster.get(system).state().getMembers(), queueRole)) {
        LOG.info(
            "no node with role {} is Up: this node's shard region stops now, dropping what it held"
                + " for the queue (it had nowhere to go), rather than holding the exit for its"
                + " hand-off timeout",
            queueRole);
        Adapter.toClassic(region).tell(PoisonPill.getInstance(), null);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    };
  }

  /**
   * Whether some member with {@code role} can host the region's shards: Up, WeaklyUp or Leaving.
   */
  static boolean anyHome(Iterable<Member> members, String role) {
    for (Member member : members) {
      if (member.hasRole(role)
          && (member.status() == MemberStatus.up()
              || member.status() == MemberStatus.weaklyUp()
              || member.status() == MemberStatus.leaving())) {
        return true;
      }
    }
    return false;
  }
}
