package dev.pekkoprover.queue;

import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskCatalog;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The cluster deployment of the queue: each task type's queue (or each partition {@code type#n} of
 * a hot type) is a Cluster Sharding entity running the same {@link LocalTaskQueue} behavior, hosted
 * on nodes with role {@code queue}. Nodes without that role get a proxy. Sequencer and workers
 * never address entities: they talk to a node-local {@link QueueFront}, which speaks the same
 * protocol as the local queue.
 *
 * <p>Not to miss: an entity's state is in memory. Automatic passivation and rebalancing are
 * switched off in the cluster configuration, so an entity only loses its state when its node goes
 * away; then workers re-announce themselves (periodically) and flows re-send tasks whose outcome is
 * overdue (Enqueue is idempotent per task id).
 */
public final class ShardedTaskQueue {
  private ShardedTaskQueue() {}

  public static final EntityTypeKey<QueueCommand> ENTITY =
      EntityTypeKey.create(QueueCommand.class, "task-queue");

  /**
   * Registers the queue entities with sharding on this node and returns the shard region (a proxy
   * where the node lacks {@code role}). Their placement is {@link QueuePlacement}'s, with {@code
   * prover.queue.cluster.placement} from the system's configuration.
   *
   * @throws com.typesafe.config.ConfigException when that setting is invalid
   */
  public static ActorRef<ShardingEnvelope<QueueCommand>> init(
      ActorSystem<?> system, TaskCatalog catalog, QueueSettings settings, String role) {
    QueuePlacement placement =
        QueuePlacement.create(
            system,
            QueuePlacement.Settings.fromConfig(system.settings().config()),
            role,
            Cluster.get(system).selfMember().hasRole(role));
    return ClusterSharding.get(system)
        .init(
            Entity.of(
                    ENTITY,
                    context ->
                        LocalTaskQueue.createInCluster(catalog, settings, context.getEntityId()))
                .withRole(role)
                .withAllocationStrategy(placement));
  }
}
