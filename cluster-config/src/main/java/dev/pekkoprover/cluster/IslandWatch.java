package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.protocol.CborSerializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Ends the island Pekko's first-seed rule can make. A node that is the first of its seeds and finds
 * no other seed answering within {@code pekko.cluster.seed-node-timeout} (5 s) forms a cluster of
 * its own. A sequencer node restarted while its worker nodes ran, on a host busy enough that its
 * first TLS handshake with them took longer than that, did so in a trial (2 of 5 restarts after a
 * SIGTERM): the worker nodes stayed Up in their own cluster, without a queue node, and no process
 * ever exited, so nothing was proven until an operator restarted them. A worker node cannot join
 * another cluster without a new actor system (Pekko lets a node join once).
 *
 * <p>So a node without role {@code stateful} (a worker node) that is Up in a cluster without any
 * stateful member for {@code prover.cluster.leave-island-after} (10 s) asks each of its seeds that
 * is not a member of its cluster how it stands ({@link Ask}, to {@code /system/island-probe}, which
 * every launcher node runs), every {@link #PROBE_EVERY}. A seed that answers that it is Up with
 * role stateful runs the cluster this node belongs in: one WARN line names it, and the node leaves
 * and exits with code 3 ({@link NodeExit}) so that its process supervisor restarts it; through its
 * seeds it then joins that cluster. Seeds that do not answer (not running, or not yet) leave the
 * node waiting as before. A stateful node is never moved: it may hold the sequencer's state.
 *
 * <p>What a reader must not miss: the seed answers only with its own status, so a sequencer node on
 * its way out (Leaving, Exiting, its process still running) does not count; and the wait of 10 s
 * keeps a restart of the only stateful node (gone for a few seconds, then joining this node's
 * cluster through it as seed) from taking a worker node with it.
 */
final class IslandWatch {
  private IslandWatch() {}

  /** Where every launcher node answers {@link Ask}: {@code /system/island-probe}. */
  static final String PROBE_NAME = "island-probe";

  /** How often the seeds are asked while this node is on an island. */
  static final Duration PROBE_EVERY = Duration.ofSeconds(5);

  /** How long one seed's answer may take (the name's resolution, then the ask). */
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(3);

  /** How a node stands in its cluster, asked of it from a node of another cluster. */
  record Ask(ActorRef<Answer> replyTo) implements CborSerializable {}

  /**
   * @param node its host:port
   * @param status its own member status, as Pekko names it ({@code Up}, {@code Joining}, ...)
   * @param stateful it has role {@code stateful} (a sequencer or queue node)
   * @param members how many members its cluster has, itself included
   */
  record Answer(String node, String status, boolean stateful, int members)
      implements CborSerializable {
    /** Whether this node runs a cluster a worker node belongs in: Up (or WeaklyUp) and stateful. */
    boolean runsACluster() {
      return stateful && ("Up".equals(status) || "WeaklyUp".equals(status));
    }
  }

  /** The shutdown reason of a worker node that leaves its island: the launcher exits with 3. */
  record LeftIsland(String seed) implements CoordinatedShutdown.Reason {
    /** As {@code /health/ready} names it while the node leaves. */
    @Override
    public String toString() {
      return "this node's cluster has no stateful node, and its seed "
          + seed
          + " runs one of its own: it restarts to join it";
    }
  }

  /**
   * {@code prover.cluster.leave-island-after}: how long a worker node may be Up in a cluster
   * without a stateful member before it asks its seeds; zero turns the watch off.
   *
   * @throws ConfigException when it is negative
   */
  static Duration after(Config config) {
    Duration after = config.getDuration("prover.cluster.leave-island-after");
    if (after.isNegative()) {
      throw new ConfigException.BadValue(
          "prover.cluster.leave-island-after", "must be 0s (off) or positive, was " + after);
    }
    return after;
  }

  /**
   * The rule, without actors or clocks: whether this node is due to ask its seeds, at {@code now}
   * (monotonic nanoseconds).
   */
  static final class Rule {
    private final long afterNanos;

    /** Since when this node has been Up without a stateful member; -1: it has not. */
    private long since = -1;

    Rule(Duration after) {
      this.afterNanos = after.toNanos();
    }

    /**
     * @param selfUp this node is Up (or WeaklyUp) in its cluster
     * @param statefulMember a member other than this node has role stateful (in any status but
     *     Removed or Down: one that joins or leaves still counts)
     */
    boolean due(boolean selfUp, boolean statefulMember, long now) {
      if (!selfUp || statefulMember) {
        since = -1;
        return false;
      }
      if (since < 0) {
        since = now;
      }
      return now - since >= afterNanos;
    }

    /** How long this node has been without a stateful member, in whole seconds (0: it has not). */
    long seconds(long now) {
      return since < 0 ? 0 : Duration.ofNanos(now - since).toSeconds();
    }
  }

  /** The WARN line of a node that leaves its island for {@code seed}'s cluster. */
  static String line(String self, long seconds, Answer seed) {
    return "node "
        + self
        + " has been in a cluster without a stateful node for "
        + seconds
        + " s, while its seed "
        + seed.node()
        + " is Up in a cluster of its own ("
        + seed.members()
        + " member(s)): that seed formed it when this node did not answer its join in time"
        + " (pekko.cluster.seed-node-timeout). This node leaves and exits with code "
        + NodeExit.DOWNED
        + " so that its process supervisor restarts it; it then joins that cluster through its"
        + " seeds";
  }

  /** The probe's answer from {@code system}'s cluster as it is now. */
  static Answer answerOf(ActorSystem<?> system) {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    int members = 0;
    for (Member ignored : cluster.state().getMembers()) {
      members++;
    }
    return new Answer(
        ProverNode.hostPort(self.address()),
        self.status().toString(),
        self.hasRole(ProverNode.STATEFUL_ROLE),
        members);
  }

  /** Starts the probe every launcher node answers at {@code /system/island-probe}. */
  static void startProbe(ActorSystem<?> system) {
    system.systemActorOf(
        Behaviors.receive(Ask.class)
            .onMessage(
                Ask.class,
                ask -> {
                  ask.replyTo().tell(answerOf(system));
                  return Behaviors.same();
                })
            .build(),
        PROBE_NAME,
        Props.empty());
  }

  private interface Command extends NoSerializationVerificationNeeded {}

  private enum Tick implements Command {
    INSTANCE
  }

  private record Answered(Answer answer) implements Command {}

  private record RoundOver() implements Command {}

  /**
   * Starts the watch on a node without role stateful that has seeds other than itself ({@code
   * pekko.cluster.seed-nodes}); nothing otherwise, or when {@code leave-island-after} is 0s. It
   * ends with the actor system.
   */
  static void start(ActorSystem<?> system, Duration after) {
    Cluster cluster = Cluster.get(system);
    Address self = cluster.selfMember().address();
    List<Address> seeds = new ArrayList<>();
    for (String seed : system.settings().config().getStringList("pekko.cluster.seed-nodes")) {
      Address address = AddressFromURIString.parse(seed);
      if (!address.equals(self)) {
        seeds.add(address);
      }
    }
    if (after.isZero()
        || seeds.isEmpty()
        || cluster.selfMember().hasRole(ProverNode.STATEFUL_ROLE)) {
      return;
    }
    system.systemActorOf(create(after, seeds), "island-watch", Props.empty());
  }

  private static Behavior<Command> create(Duration after, List<Address> seeds) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  context.setLoggerName(IslandWatch.class);
                  ActorSystem<Void> system = context.getSystem();
                  Cluster cluster = Cluster.get(system);
                  Rule rule = new Rule(after);
                  String self = ProverNode.hostPort(cluster.selfMember().address());
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, PROBE_EVERY);
                  boolean[] asking = {false};
                  return Behaviors.receive(Command.class)
                      .onMessageEquals(
                          Tick.INSTANCE,
                          () -> {
                            if (asking[0]
                                || CoordinatedShutdown.get(system)
                                    .getShutdownReason()
                                    .isPresent()) {
                              return Behaviors.same();
                            }
                            if (!rule.due(
                                selfUp(cluster), hasStatefulMember(cluster), System.nanoTime())) {
                              return Behaviors.same();
                            }
                            Set<Address> members = new HashSet<>();
                            for (Member member : cluster.state().getMembers()) {
                              members.add(member.address());
                            }
                            List<Address> outside = new ArrayList<>();
                            for (Address seed : seeds) {
                              if (!members.contains(seed)) {
                                outside.add(seed);
                              }
                            }
                            if (outside.isEmpty()) {
                              return Behaviors.same();
                            }
                            asking[0] = true;
                            List<CompletableFuture<Void>> asks = new ArrayList<>();
                            for (Address seed : outside) {
                              asks.add(
                                  ask(system, seed)
                                      .thenAccept(
                                          answer -> context.getSelf().tell(new Answered(answer)))
                                      .exceptionally(noAnswer -> null)
                                      .toCompletableFuture());
                            }
                            CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0]))
                                .whenComplete(
                                    (done, error) -> context.getSelf().tell(new RoundOver()));
                            return Behaviors.same();
                          })
                      .onMessage(
                          RoundOver.class,
                          over -> {
                            asking[0] = false;
                            return Behaviors.same();
                          })
                      .onMessage(
                          Answered.class,
                          answered -> {
                            Answer answer = answered.answer();
                            // still without a stateful member: one may have joined meanwhile
                            if (!answer.runsACluster()
                                || !rule.due(
                                    selfUp(cluster), hasStatefulMember(cluster), System.nanoTime())
                                || CoordinatedShutdown.get(system)
                                    .getShutdownReason()
                                    .isPresent()) {
                              return Behaviors.same();
                            }
                            context
                                .getLog()
                                .warn(line(self, rule.seconds(System.nanoTime()), answer));
                            CoordinatedShutdown.get(system).runAll(new LeftIsland(answer.node()));
                            return Behaviors.stopped();
                          })
                      .build();
                }));
  }

  private static boolean selfUp(Cluster cluster) {
    MemberStatus status = cluster.selfMember().status();
    return status == MemberStatus.up() || status == MemberStatus.weaklyUp();
  }

  /** A member other than this node with role stateful, in any status but Removed or Down. */
  private static boolean hasStatefulMember(Cluster cluster) {
    for (Member member : cluster.state().getMembers()) {
      if (!member.address().equals(cluster.selfMember().address())
          && member.hasRole(ProverNode.STATEFUL_ROLE)
          && member.status() != MemberStatus.removed()
          && member.status() != MemberStatus.down()) {
        return true;
      }
    }
    return false;
  }

  /** Asks {@code seed}'s probe how it stands; fails when it does not answer in time. */
  private static CompletionStage<Answer> ask(ActorSystem<?> system, Address seed) {
    return Adapter.toClassic(system)
        .actorSelection(seed + "/system/" + PROBE_NAME)
        .resolveOne(ANSWER_TIMEOUT)
        .thenCompose(
            ref ->
                AskPattern.<Ask, Answer>ask(
                    Adapter.toTyped(ref), Ask::new, ANSWER_TIMEOUT, system.scheduler()));
  }
}
