package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.JoinSeedNodes;

/**
 * Starts Pekko's join through the seed nodes again while this node is not yet a member, on every
 * node that is not the first of its seeds: the first retry {@code prover.cluster.join-retry-every}
 * (1 s) after start, each next one a step of that longer than the last (1, 2, 3, 4 s...), at most
 * {@code pekko.cluster.seed-node-timeout} (5 s) apart.
 *
 * <p>Why: Pekko's process for such a node sends {@code InitJoin} to the other seeds and sends it
 * again only when {@code seed-node-timeout} passes without any answer, and a seed that is itself
 * still joining answers at once ({@code InitJoinNack}), which starts that wait over. So a node
 * started before the first seed had formed the cluster joined 5 to 9 s after it (19 of some 90 node
 * processes of a CI run on 2026-12-04), while one round trip suffices once a seed is a member.
 * Lowering {@code seed-node-timeout} instead would also shorten how long the first seed waits for a
 * running cluster to answer before it forms a new one: a restarted first seed whose peers answer
 * late would start a second cluster.
 *
 * <p>Why the steps grow: a retry is Pekko's {@link JoinSeedNodes}, which stops the running process,
 * so a seed's {@code InitJoinAck} that comes back later than the interval is lost. Growing
 * intervals let a seed that answers in 2 or 3 s in at a later one; from the cap on, retries come at
 * Pekko's own pace. A {@code Welcome} for a {@code Join} already sent is still taken while no newer
 * {@code Join} is under way; otherwise the newer one is welcomed (Pekko welcomes a member that asks
 * again). Members are keyed by address and incarnation, so no retry makes a second member.
 *
 * <p>Nothing is sent for a node that is the first seed (it forms the cluster, and restarting its
 * process would restart its wait), has no seeds (it is joined in code), is a member (status other
 * than Removed: the cluster's view of this node before it is welcomed), or is shutting down. Each
 * retry also restarts Pekko's {@code shutdown-after-unsuccessful-join-seed-nodes} deadline (off by
 * default and in cluster.conf); where it is set, the retries stop once it has passed since start,
 * so Pekko's shutdown comes at most one interval late.
 */
public final class SeedJoinRetry {

  /** Local only: its own timer. */
  public enum Tick implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  private final ActorContext<Tick> context;
  private final TimerScheduler<Tick> timers;
  private final Cluster cluster;
  private final List<Address> seeds;
  private final Duration step;
  private final Duration cap;

  /** When the retries end if no seed lets this node in: Long.MAX_VALUE without such a limit. */
  private final long giveUpAt;

  private Duration interval;

  private SeedJoinRetry(
      ActorContext<Tick> context,
      TimerScheduler<Tick> timers,
      List<Address> seeds,
      Duration step,
      Duration cap,
      Duration giveUpAfter) {
    this.context = context;
    this.timers = timers;
    this.cluster = Cluster.get(context.getSystem());
    this.seeds = seeds;
    this.step = step;
    this.cap = cap;
    this.giveUpAt =
        giveUpAfter == null ? Long.MAX_VALUE : System.nanoTime() + giveUpAfter.toNanos();
    this.interval = step;
  }

  /**
   * The retrying behaviour, or a stopped one where there is nothing to retry: no seeds, this node
   * first among them, or {@code join-retry-every} of zero (off).
   */
  public static Behavior<Tick> create(Config config) {
    Duration step = config.getDuration("prover.cluster.join-retry-every");
    Duration cap = config.getDuration("pekko.cluster.seed-node-timeout");
    String limit = config.getString("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes");
    Duration giveUpAfter =
        "off".equalsIgnoreCase(limit)
            ? null
            : config.getDuration("pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes");
    List<Address> seeds = new ArrayList<>();
    for (String seed : config.getStringList("pekko.cluster.seed-nodes")) {
      seeds.add(AddressFromURIString.parse(seed));
    }
    return Behaviors.setup(
        context -> {
          Cluster cluster = Cluster.get(context.getSystem());
          if (step.isZero()
              || seeds.isEmpty()
              || seeds.get(0).equals(cluster.selfMember().address())) {
            return Behaviors.stopped();
          }
          return Behaviors.withTimers(
              timers -> {
                SeedJoinRetry retry =
                    new SeedJoinRetry(context, timers, seeds, step, cap, giveUpAfter);
                timers.startSingleTimer(Tick.INSTANCE, step);
                return retry.waiting();
              });
        });
  }

  private Behavior<Tick> waiting() {
    return Behaviors.receive(Tick.class).onMessageEquals(Tick.INSTANCE, this::onTick).build();
  }

  private Behavior<Tick> onTick() {
    boolean shuttingDown =
        CoordinatedShutdown.get(context.getSystem()).getShutdownReason().isPresent();
    if (cluster.selfMember().status() != MemberStatus.removed()
        || shuttingDown
        || System.nanoTime() >= giveUpAt) {
      return Behaviors.stopped();
    }
    context.getLog().debug("starting the join through seeds {} again", seeds);
    cluster.manager().tell(new JoinSeedNodes(seeds));
    Duration longer = interval.plus(step);
    interval = longer.compareTo(cap) > 0 ? cap : longer;
    timers.startSingleTimer(Tick.INSTANCE, interval);
    return Behaviors.same();
  }
}
