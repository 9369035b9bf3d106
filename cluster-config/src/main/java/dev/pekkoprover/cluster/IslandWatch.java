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
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;

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
 * every launcher node runs), {@link #PROBE_EVERY} at first and less often while none answers (to
 * {@link #LONGEST_PROBE_PAUSE}). A seed that answers that it is Up with role stateful, not shutting
 * down, in a cluster that does not hold this node, runs the cluster this node belongs in: one WARN
 * line names it; the node downs the other members of its cluster (none is stateful: worker nodes on
 * the same island, which a restarted node could otherwise join again), and {@link
 * #DOWN_OTHERS_FIRST} later leaves and exits with code 3 ({@link NodeExit}) so that its process
 * supervisor restarts it; through its seeds it then joins that cluster, as the downed ones do.
 * Seeds that do not answer (not running, or not yet) leave the node waiting as before.
 *
 * <p>A stateful node runs the same watch, Up for {@code leave-island-after} and until {@link
 * #STATEFUL_WATCH} after Up (islands form as a node joins), and asks its seeds that are not members
 * of its cluster: it leaves (one WARN line, exit code 3) only for a cluster with more stateful
 * nodes than its own, the split-brain resolver's majority. The first of its seeds restarted with
 * the same command while the others ran formed a cluster of one in a trial (1 of 4 restarts on a
 * loaded host), its sequencer starting a second run on the same database beside the running one.
 * Two islands with as many stateful nodes each both stay, as before: the only stateful node,
 * restarted into an island while its worker nodes ran, is their seed to join.
 *
 * <p>What a reader must not miss: the seed answers with its own status and whether it knows the
 * asker, so a sequencer node on its way out (shutting down, Leaving, Exiting, its process still
 * running), or one that has just let this node in, does not count; and the wait of 10 s keeps a
 * restart of the only stateful node (gone for a few seconds, then joining this node's cluster
 * through it as seed) from taking a worker node with it.
 */
final class IslandWatch {
  private IslandWatch() {}

  /** Where every launcher node answers {@link Ask}: {@code /system/island-probe}. */
  static final String PROBE_NAME = "island-probe";

  /** How often the seeds are asked while this node is on an island. */
  static final Duration PROBE_EVERY = Duration.ofSeconds(5);

  /** How long one seed's answer may take (the name's resolution, then the ask). */
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(3);

  /**
   * How a node stands in its cluster, asked of it from a node of another cluster.
   *
   * @param asker the asking node's address ({@code pekko://prover@host:port})
   * @param askerUid the asking node's incarnation ({@code UniqueAddress.longUid}); 0 when not given
   *     (a build of 2026-12-06 sends none), and then the address alone decides
   */
  record Ask(ActorRef<Answer> replyTo, String asker, long askerUid) implements CborSerializable {}

  /**
   * @param node its host:port
   * @param status its own member status, as Pekko names it ({@code Up}, {@code Joining}, ...)
   * @param stateful it has role {@code stateful} (a sequencer or queue node)
   * @param members how many members its cluster has, itself included
   * @param shuttingDown its CoordinatedShutdown has begun (it stays Up while its workers drain)
   * @param knowsAsker the asking node, this incarnation of it, is a member of its cluster (as this
   *     node sees it); an earlier incarnation at the same address, e.g. the one a restarted worker
   *     node replaced and this cluster has not yet removed, does not count
   * @param statefulMembers how many members of its cluster have role stateful, in any status but
   *     Down or Removed, itself included (0 from a build before 2026-12-07, which never moves a
   *     stateful node)
   */
  record Answer(
      String node,
      String status,
      boolean stateful,
      int members,
      boolean shuttingDown,
      boolean knowsAsker,
      int statefulMembers)
      implements CborSerializable {
    /**
     * Whether this node runs a cluster a worker node belongs in: Up (or WeaklyUp), stateful and not
     * on its way out.
     */
    boolean runsACluster() {
      return stateful && !shuttingDown && ("Up".equals(status) || "WeaklyUp".equals(status));
    }

    /** Whether the asker is on an island beside this node's cluster: it runs one, without it. */
    boolean leavesAskerOutside() {
      return runsACluster() && !knowsAsker;
    }
  }

  /**
   * The shutdown reason of a node that leaves its island: the launcher exits with 3.
   *
   * @param fewerStateful the node is stateful and its island has fewer stateful nodes than the
   *     seed's cluster (else: a worker node on an island without a stateful node)
   */
  record LeftIsland(String seed, boolean fewerStateful) implements CoordinatedShutdown.Reason {
    /** As {@code /health/ready} names it while the node leaves. */
    @Override
    public String toString() {
      return fewerStateful
          ? "this node's cluster has fewer stateful nodes than the one its seed "
              + seed
              + " runs beside it: it restarts to join that one"
          : "this node's cluster has no stateful node, and its seed "
              + seed
              + " runs one of its own: it restarts to join it";
    }
  }

  /**
   * {@code prover.cluster.leave-island-after}: how long a worker node may be Up in a cluster
   * without a stateful member, and a stateful node Up at all, before it asks its seeds outside its
   * cluster; zero turns the watch off.
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

  /**
   * The WARN line of a node that leaves its island for {@code seed}'s cluster, downing the {@code
   * others} members of its own (none of them stateful) so that they restart into it too.
   */
  static String line(String self, long seconds, Answer seed, int others) {
    return "node "
        + self
        + " has been in a cluster without a stateful node for "
        + seconds
        + " s, while its seed "
        + seed.node()
        + " is Up in a cluster of its own ("
        + seed.members()
        + " member(s)): that seed formed it when this node did not answer its join in time"
        + " (pekko.cluster.seed-node-timeout). This node "
        + (others == 0
            ? ""
            : "downs the "
                + others
                + " other node(s) of its cluster (none is stateful), so that they restart into it"
                + " too, then ")
        + "leaves and exits with code "
        + NodeExit.DOWNED
        + " so that its process supervisor restarts it; it then joins that cluster through its"
        + " seeds";
  }

  /**
   * Whether a node leaves its cluster for the one {@code seed} answered from: a worker node for any
   * cluster a stateful seed runs without it; a stateful node, whose cluster has {@code ownStateful}
   * stateful nodes, only for one with more.
   */
  static boolean leavesFor(boolean stateful, int ownStateful, Answer seed) {
    return seed.leavesAskerOutside() && (!stateful || seed.statefulMembers() > ownStateful);
  }

  /**
   * The WARN line of a stateful node that leaves its island, which has {@code own} stateful nodes,
   * for {@code seed}'s cluster, which has more.
   */
  static String statefulLine(String self, int own, Answer seed) {
    return "node "
        + self
        + " is in a cluster with "
        + own
        + " stateful node(s), while its seed "
        + seed.node()
        + " is Up in a cluster of its own with "
        + seed.statefulMembers()
        + " ("
        + seed.members()
        + " member(s)): this node formed its cluster when no seed answered its join in time"
        + " (pekko.cluster.seed-node-timeout), and its sequencer or queue runs beside that"
        + " cluster's. It leaves and exits with code "
        + NodeExit.DOWNED
        + " so that its process supervisor restarts it; it then joins that cluster through its"
        + " seeds";
  }

  /**
   * The probe's answer from {@code system}'s cluster as it is now, to {@code asker} of incarnation
   * {@code askerUid} (0: any).
   */
  static Answer answerOf(ActorSystem<?> system, String asker, long askerUid) {
    Cluster cluster = Cluster.get(system);
    Member self = cluster.selfMember();
    int members = 0;
    boolean knowsAsker = false;
    for (Member member : cluster.state().getMembers()) {
      members++;
      knowsAsker |=
          member.address().toString().equals(asker)
              && (askerUid == 0 || member.uniqueAddress().longUid() == askerUid);
    }
    return new Answer(
        ProverNode.hostPort(self.address()),
        self.status().toString(),
        self.hasRole(ProverNode.STATEFUL_ROLE),
        members,
        CoordinatedShutdown.get(system).getShutdownReason().isPresent(),
        knowsAsker,
        statefulMembers(cluster));
  }

  /** Starts the probe every launcher node answers at {@code /system/island-probe}. */
  static void startProbe(ActorSystem<?> system) {
    system.systemActorOf(
        Behaviors.receive(Ask.class)
            .onMessage(
                Ask.class,
                ask -> {
                  ask.replyTo().tell(answerOf(system, ask.asker(), ask.askerUid()));
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

  private enum LeaveNow implements Command {
    INSTANCE
  }

  private record Answered(Answer answer) implements Command {}

  private record RoundOver() implements Command {}

  /**
   * How long the node waits after downing the other members of its island before it leaves itself:
   * its gossip of their Down goes out meanwhile (gossip every second).
   */
  static final Duration DOWN_OTHERS_FIRST = Duration.ofSeconds(2);

  /**
   * How long a stateful node watches once Up: an island forms as a node joins, and a seed gone for
   * good would otherwise be asked every minute for the node's life.
   */
  static final Duration STATEFUL_WATCH = Duration.ofMinutes(5);

  /** The longest pause between rounds of asks while no seed runs a cluster of its own. */
  static final Duration LONGEST_PROBE_PAUSE = Duration.ofSeconds(60);

  /**
   * Starts the watch on a node that has seeds other than itself ({@code pekko.cluster.seed-nodes});
   * nothing otherwise, or when {@code leave-island-after} is 0s. It ends with the actor system, or
   * on a stateful node {@link #STATEFUL_WATCH} after it is Up: islands form as a node joins.
   *
   * @return whether it started
   */
  static boolean start(ActorSystem<?> system, Duration after) {
    List<Address> seeds = new ArrayList<>();
    for (String seed : system.settings().config().getStringList("pekko.cluster.seed-nodes")) {
      seeds.add(AddressFromURIString.parse(seed));
    }
    return startWithSeeds(system, after, seeds);
  }

  /** {@link #start} with these seeds (a test's, whose node formed its island without them). */
  static boolean startWithSeeds(ActorSystem<?> system, Duration after, List<Address> given) {
    Cluster cluster = Cluster.get(system);
    Address self = cluster.selfMember().address();
    List<Address> seeds = new ArrayList<>();
    for (Address seed : given) {
      if (!seed.equals(self)) {
        seeds.add(seed);
      }
    }
    if (after.isZero() || seeds.isEmpty()) {
      return false;
    }
    system.systemActorOf(
        Behaviors.<Command>setup(
            context ->
                Behaviors.withTimers(
                    timers -> new Watch(context, timers, after, seeds).behavior())),
        "island-watch",
        Props.empty());
    return true;
  }

  /** The watch's actor state. */
  private static final class Watch {
    private final ActorContext<Command> context;
    private final TimerScheduler<Command> timers;
    private final ActorSystem<Void> system;
    private final Cluster cluster;
    private final Rule rule;
    private final List<Address> seeds;
    private final String self;

    /** This node has role stateful: it leaves only an island with fewer stateful nodes. */
    private final boolean stateful;

    /** A round of asks is under way. */
    private boolean asking;

    /** A round found an answer: the node is leaving. */
    private boolean leaving;

    /** The pause before the next round: 5 s, doubled after each round no seed answered, to 60 s. */
    private Duration pause = PROBE_EVERY;

    /** A seed answered in the round under way (whatever it said). */
    private boolean answeredThisRound;

    /** No round before this (nanoTime); 0: at the next tick. */
    private long nextRound;

    private Answer found;

    Watch(
        ActorContext<Command> context,
        TimerScheduler<Command> timers,
        Duration after,
        List<Address> seeds) {
      this.context = context;
      this.timers = timers;
      this.system = context.getSystem();
      this.cluster = Cluster.get(system);
      this.rule = new Rule(after);
      this.seeds = seeds;
      this.self = ProverNode.hostPort(cluster.selfMember().address());
      this.stateful = cluster.selfMember().hasRole(ProverNode.STATEFUL_ROLE);
      context.setLoggerName(IslandWatch.class);
      timers.startTimerWithFixedDelay(Tick.INSTANCE, PROBE_EVERY);
    }

    Behavior<Command> behavior() {
      return Behaviors.receive(Command.class)
          .onMessageEquals(Tick.INSTANCE, this::onTick)
          .onMessage(RoundOver.class, over -> onRoundOver())
          .onMessage(Answered.class, answered -> onAnswer(answered.answer()))
          .onMessageEquals(LeaveNow.INSTANCE, this::onLeaveNow)
          .build();
    }

    private boolean stopping() {
      return leaving || CoordinatedShutdown.get(system).getShutdownReason().isPresent();
    }

    /**
     * Whether the rule holds: Up without a stateful member for the wait; for a stateful node, Up
     * for the wait (it asks seeds outside its cluster only, so none while every seed is a member).
     */
    private boolean due(long now) {
      return rule.due(selfUp(cluster), !stateful && hasStatefulMember(cluster), now);
    }

    private Behavior<Command> onTick() {
      long now = System.nanoTime();
      if (stateful && !asking && !leaving && rule.seconds(now) >= STATEFUL_WATCH.toSeconds()) {
        return Behaviors.stopped(); // Up this long in its cluster: it formed no island
      }
      if (!due(now)) {
        pause = PROBE_EVERY; // a stateful node is back: the next island starts afresh
        nextRound = 0;
        return Behaviors.same();
      }
      if (asking || stopping() || now < nextRound) {
        return Behaviors.same();
      }
      Set<Address> members = new HashSet<>();
      for (Member member : cluster.state().getMembers()) {
        members.add(member.address());
      }
      List<CompletableFuture<Void>> asks = new ArrayList<>();
      String asker = cluster.selfMember().address().toString();
      long askerUid = cluster.selfMember().uniqueAddress().longUid();
      ActorRef<Command> me = context.getSelf(); // the callbacks run outside the actor
      answeredThisRound = false;
      for (Address seed : seeds) {
        if (!members.contains(seed)) {
          asks.add(
              ask(system, seed, asker, askerUid)
                  .thenAccept(answer -> me.tell(new Answered(answer)))
                  .exceptionally(noAnswer -> null)
                  .toCompletableFuture());
        }
      }
      if (asks.isEmpty()) {
        return Behaviors.same();
      }
      asking = true;
      CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0]))
          .whenComplete((done, error) -> me.tell(new RoundOver()));
      return Behaviors.same();
    }

    private Behavior<Command> onRoundOver() {
      asking = false;
      if (!leaving) {
        // no seed answered: ask less often (a seed host that is down costs a handshake timeout
        // each time); one that answered (joining, say) is asked again soon
        if (answeredThisRound) {
          pause = PROBE_EVERY;
        }
        nextRound = System.nanoTime() + pause.toNanos();
        pause =
            pause.multipliedBy(2).compareTo(LONGEST_PROBE_PAUSE) > 0
                ? LONGEST_PROBE_PAUSE
                : pause.multipliedBy(2);
      }
      return Behaviors.same();
    }

    private Behavior<Command> onAnswer(Answer answer) {
      answeredThisRound = true;
      long now = System.nanoTime();
      // still without a stateful member: one may have joined meanwhile; a stateful node leaves
      // only for a cluster with more stateful nodes than its own (the split-brain resolver's
      // majority), so two islands of one stateful node each both stay, as before
      if (!leavesFor(stateful, statefulMembers(cluster), answer) || stopping() || !due(now)) {
        return Behaviors.same();
      }
      leaving = true;
      found = answer;
      if (stateful) {
        context.getLog().warn(statefulLine(self, statefulMembers(cluster), answer));
        return onLeaveNow(); // its island's worker nodes, without it, move by their own watch
      }
      List<Address> others = new ArrayList<>();
      for (Member member : cluster.state().getMembers()) {
        // never a stateful one, even one that began to join since the rule looked
        if (!member.address().equals(cluster.selfMember().address())
            && !member.hasRole(ProverNode.STATEFUL_ROLE)
            && member.status() != MemberStatus.removed()
            && member.status() != MemberStatus.down()) {
          others.add(member.address());
        }
      }
      context.getLog().warn(line(self, rule.seconds(now), answer, others.size()));
      if (others.isEmpty()) {
        return onLeaveNow();
      }
      // every member is a worker node on the same island: a restarted one could otherwise join
      // another still there, whose seed process answers as fast as the stateful seed's
      for (Address other : others) {
        cluster.manager().tell(new Down(other));
      }
      timers.startSingleTimer(LeaveNow.INSTANCE, DOWN_OTHERS_FIRST);
      return Behaviors.same();
    }

    private Behavior<Command> onLeaveNow() {
      CoordinatedShutdown.get(system).runAll(new LeftIsland(found.node(), stateful));
      return Behaviors.stopped();
    }
  }

  private static boolean selfUp(Cluster cluster) {
    MemberStatus status = cluster.selfMember().status();
    return status == MemberStatus.up() || status == MemberStatus.weaklyUp();
  }

  /** Members with role stateful, this node included, in any status but Removed or Down. */
  static int statefulMembers(Cluster cluster) {
    int count = 0;
    for (Member member : cluster.state().getMembers()) {
      if (member.hasRole(ProverNode.STATEFUL_ROLE)
          && member.status() != MemberStatus.removed()
          && member.status() != MemberStatus.down()) {
        count++;
      }
    }
    return count;
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
  private static CompletionStage<Answer> ask(
      ActorSystem<?> system, Address seed, String asker, long askerUid) {
    return Adapter.toClassic(system)
        .actorSelection(seed + "/system/" + PROBE_NAME)
        .resolveOne(ANSWER_TIMEOUT)
        .thenCompose(
            ref ->
                AskPattern.<Ask, Answer>ask(
                    Adapter.toTyped(ref),
                    replyTo -> new Ask(replyTo, asker, askerUid),
                    ANSWER_TIMEOUT,
                    system.scheduler()));
  }
}
