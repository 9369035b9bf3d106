package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.JoinSeedNodes;

/**
 * Starts Pekko's join through the seed nodes again every {@code prover.cluster.join-retry-every} (1
 * s) while this node is not yet a member, on every node that is not the first of its seeds.
 *
 * <p>Why: Pekko's process for such a node sends {@code InitJoin} to the other seeds and sends it
 * again only when {@code pekko.cluster.seed-node-timeout} (5 s) passes without any answer, and a
 * seed that is itself still joining answers at once ({@code InitJoinNack}), which starts those 5 s
 * over. So a node started before the first seed had formed the cluster joined 5 to 9 s after it (19
 * of some 90 node processes of a CI run on 2026-12-04), while one round trip suffices once a seed
 * is a member. Lowering {@code seed-node-timeout} instead would also shorten how long the first
 * seed waits for an existing cluster to answer before it forms a new one: a restarted first seed
 * whose peers answer late would start a second cluster.
 *
 * <p>Starting the process again is Pekko's {@link JoinSeedNodes}: a new {@code InitJoin} round that
 * ends a running one; a {@code Welcome} to an earlier attempt is still taken, and a member that
 * asks twice is welcomed again. Nothing is sent for a node that is the first seed (it forms the
 * cluster, and a restart of its process would restart its wait), has no seeds (it is joined in
 * code), is a member (status other than Removed; a member is never a seed joiner again), or is
 * shutting down.
 */
public final class SeedJoinRetry {

  /** Local only: its own tick. */
  public enum Tick implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  private SeedJoinRetry() {}

  /**
   * The retrying behaviour, or a stopped one where there is nothing to retry: no seeds, this node
   * first among them, or {@code join-retry-every} of zero (off).
   */
  public static Behavior<Tick> create(Config config) {
    Duration every = config.getDuration("prover.cluster.join-retry-every");
    List<Address> seeds = new ArrayList<>();
    for (String seed : config.getStringList("pekko.cluster.seed-nodes")) {
      seeds.add(AddressFromURIString.parse(seed));
    }
    return Behaviors.setup(
        context -> {
          Cluster cluster = Cluster.get(context.getSystem());
          if (every.isZero()
              || seeds.isEmpty()
              || seeds.get(0).equals(cluster.selfMember().address())) {
            return Behaviors.stopped();
          }
          return Behaviors.withTimers(
              timers -> {
                timers.startTimerWithFixedDelay(Tick.INSTANCE, every);
                return Behaviors.receive(Tick.class)
                    .onMessageEquals(
                        Tick.INSTANCE,
                        () -> {
                          Optional<CoordinatedShutdown.Reason> shutdown =
                              CoordinatedShutdown.get(context.getSystem()).getShutdownReason();
                          if (cluster.selfMember().status() != MemberStatus.removed()
                              || shutdown.isPresent()) {
                            return Behaviors.stopped();
                          }
                          context.getLog().debug("starting the join through seeds {} again", seeds);
                          cluster.manager().tell(new JoinSeedNodes(seeds));
                          return Behaviors.same();
                        })
                    .build();
              });
        });
  }
}
