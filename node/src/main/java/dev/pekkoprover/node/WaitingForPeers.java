package dev.pekkoprover.node;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * Says at INFO, every {@code prover.cluster.report-waiting-every} (then less often as the wait goes
 * on: {@link #repeatAfter}), what this cluster node waits for: to join the cluster through its
 * seeds (with the likely causes when none lets it in: Pekko's handshake with a seed of another
 * cluster name or a refused certificate fails without a word on the joining side), to be moved Up,
 * or for a reachable node with role {@code queue} to be Up (until then its workers and flows wait);
 * one line when that wait ends, and one when the node is Up. The sharding region's own WARN per
 * retry is filtered out of the log (the launcher's log configuration: cluster-config's {@code
 * PeerWaitRetryFilter}), so these lines are what an operator sees of a missing peer.
 */
public final class WaitingForPeers {

  /** Local only: cluster events and its own tick. */
  public interface Command extends NoSerializationVerificationNeeded {}

  private record ClusterChange(ClusterEvent.ClusterDomainEvent event) implements Command {}

  private enum Tick implements Command {
    INSTANCE
  }

  /** What the node waits for. */
  enum Wait {
    NOTHING,
    JOIN,
    UP,
    QUEUE,
    /**
     * Leaving, downed or removed: the node is going away, which its own lines say; no wait ends.
     */
    GONE
  }

  /**
   * How often the condition is looked at: the precision of "every 5 s" and of the wait's length.
   */
  private static final Duration TICK = Duration.ofSeconds(1);

  /**
   * How long no queue node is up before the waiting line names the trap of a queue node that formed
   * a cluster of its own: longer than a queue node's restart (seconds), so that an ordinary
   * restart's lines do not suggest it.
   */
  static final Duration OWN_CLUSTER_HINT_AFTER = Duration.ofSeconds(30);

  private final ActorContext<Command> context;
  private final Cluster cluster;
  private final Duration every;
  private final List<String> seeds;
  private final String self;

  /** This node's transport is TLS: a certificate may be why it cannot join. */
  private final boolean tls;

  private Wait waiting = Wait.NOTHING;
  private long waitingSince;
  private long lastReport;
  private boolean reported;
  private boolean up;

  /** This node's own MemberUp event came; {@link Cluster#selfMember} may show it Up only later. */
  private boolean selfUp;

  /**
   * The members as this actor's events tell them (the current state first, then each change), for
   * the Up line: {@link Cluster#state} lags the events the same way, and a seed node's line read
   * "Up in the cluster of 0 member(s): []" from it (4 of 91 node processes in a CI run).
   */
  private final Map<UniqueAddress, Member> members = new HashMap<>();

  /** How the last queue node went: the wait for one names it if it shut down. */
  private final QueueDepartures queueDepartures = new QueueDepartures(ProverNode.QUEUE_ROLE);

  private WaitingForPeers(ActorContext<Command> context, Duration every, List<String> seeds) {
    this.context = context;
    this.cluster = Cluster.get(context.getSystem());
    this.every = every;
    this.seeds = seeds;
    this.self = ProverNode.hostPort(cluster.selfMember().address());
    this.tls =
        "tls-tcp"
            .equals(
                context.getSystem().settings().config().getString("pekko.remote.artery.transport"));
  }

  /**
   * Whether this node's certificate (its file, read at each waiting line) was made for another
   * cluster name ({@link ClusterTls#otherClusterOf}): then that is the likely reason it waits, and
   * its waiting line says so first (a trial's node listed five general causes while its start-up
   * WARN had named this one); null without TLS, or for a certificate not made by {@code keys}.
   */
  private String otherClusterOfOwnCertificate() {
    if (!tls) {
      return null;
    }
    try {
      ClusterTls.NodeFiles files = ClusterTls.engineFiles(context.getSystem().settings().config());
      return ClusterTls.otherClusterOf(files.certificate(), context.getSystem().name());
    } catch (RuntimeException unreadable) {
      return null; // the TLS check says what is wrong with the files
    }
  }

  /** The configured seed nodes ({@code pekko.cluster.seed-nodes}), each as host:port. */
  static List<String> seeds(Config config) {
    List<String> seeds = new ArrayList<>();
    for (String seed : config.getStringList("pekko.cluster.seed-nodes")) {
      seeds.add(ProverNode.hostPort(AddressFromURIString.parse(seed)));
    }
    return seeds;
  }

  public static Behavior<Command> create(Config config) {
    Duration every = config.getDuration("prover.cluster.report-waiting-every");
    List<String> seeds = seeds(config);
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                (TimerScheduler<Command> timers) -> {
                  context.setLoggerName(WaitingForPeers.class); // not a Pekko logger, kept at WARN
                  Cluster cluster = Cluster.get(context.getSystem());
                  MembershipEvents.subscribe(context, ClusterChange::new, ClusterChange::new);
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, TICK);
                  WaitingForPeers watcher = new WaitingForPeers(context, every, seeds);
                  watcher.look();
                  return watcher.watching();
                }));
  }

  private Behavior<Command> watching() {
    return Behaviors.receive(Command.class)
        .onMessage(ClusterChange.class, this::onClusterChange)
        .onMessageEquals(Tick.INSTANCE, this::look)
        .build();
  }

  /**
   * The Up line goes out on this node's own MemberUp event: {@link Cluster#selfMember} is read from
   * a view that another subscriber updates, and it lagged up to the next tick (a worker registered
   * before its node said it was Up).
   */
  private Behavior<Command> onClusterChange(ClusterChange change) {
    if (change.event() instanceof ClusterEvent.MemberUp memberUp
        && memberUp.member().uniqueAddress().equals(cluster.selfMember().uniqueAddress())) {
      selfUp = true;
    }
    if (change.event() instanceof ClusterEvent.MemberRemoved removed) {
      if (members.remove(removed.member().uniqueAddress()) != null) {
        AbsentSeeds.memberRemoved(ProverNode.hostPort(removed.member().address()));
      }
    } else if (change.event() instanceof ClusterEvent.MemberEvent event) {
      if (members.put(event.member().uniqueAddress(), event.member()) == null) {
        AbsentSeeds.memberAdded(ProverNode.hostPort(event.member().address()));
      }
    }
    queueDepartures.on(change.event());
    return look();
  }

  /** The queue node that shut down, when that is why none is up; else null. */
  private String queueNodeThatShutDown() {
    return queueDepartures.shutDown(members.values());
  }

  private Behavior<Command> look() {
    long now = System.nanoTime();
    Member selfMember = cluster.selfMember();
    Wait current = condition(selfMember);
    if (current != waiting) {
      if (reported && current != Wait.GONE) {
        context.getLog().info(ended(waiting, now));
      }
      waiting = current;
      waitingSince = now;
      lastReport = now;
      reported = false;
    } else if (waiting != Wait.NOTHING
        && waiting != Wait.GONE
        && now - lastReport >= repeatAfter(every, now - waitingSince).toNanos()) {
      context.getLog().info(waitingLine());
      lastReport = now;
      reported = true;
    }
    if (!up && (selfUp || selfMember.status() == MemberStatus.up())) {
      up = true;
      List<Member> known = new ArrayList<>(members.values());
      if (!members.containsKey(selfMember.uniqueAddress())) {
        known.add(selfMember); // Up by the view before the event came
      }
      known.sort(Member.ordering());
      List<String> names = new ArrayList<>();
      known.forEach(member -> names.add(ProverNode.hostPort(member.address())));
      context
          .getLog()
          .info(
              "node {} is Up in the cluster of {} member(s): {}{}",
              self,
              names.size(),
              names,
              absentSeeds());
    }
    return Behaviors.same();
  }

  /**
   * How long after its last line a wait that has lasted {@code waitedNanos} is said again: {@code
   * every} (5 s) for its first minute, when a restart or a slow start is the likely cause and the
   * operator is watching; then once a minute; from 10 minutes on, once every 10 minutes (a worker
   * node left waiting for a queue node overnight logged 720 lines an hour, a trial's finding). The
   * line says how long the wait has lasted, so a reader who attaches late learns it at once.
   */
  public static Duration repeatAfter(Duration every, long waitedNanos) {
    Duration waited = Duration.ofNanos(waitedNanos);
    if (waited.compareTo(Duration.ofMinutes(1)) < 0) {
      return every;
    }
    Duration slower =
        waited.compareTo(Duration.ofMinutes(10)) < 0
            ? Duration.ofMinutes(1)
            : Duration.ofMinutes(10);
    return slower.compareTo(every) > 0 ? slower : every;
  }

  /**
   * Of {@code refused}, this node's own seeds: the registry is one per JVM, and in-JVM tests run
   * nodes of several clusters in one.
   */
  private List<String> ownSeeds(List<String> refused) {
    List<String> own = new ArrayList<>(refused);
    own.retainAll(seeds);
    return own;
  }

  /**
   * For the Up line: the seeds where nothing listened (Pekko's WARNs for them are filtered out of
   * the launcher's log), or "".
   */
  private String absentSeeds() {
    List<String> absent = ownSeeds(AbsentSeeds.refusedSeeds(System.nanoTime()));
    return absent.isEmpty()
        ? ""
        : String.format(
            "; seed(s) %s refused a connection: nothing listened there (not started yet, or a"
                + " wrong address in --seeds); joining needs only one seed that runs",
            absent);
  }

  private Wait condition(Member selfMember) {
    MemberStatus status = selfMember.status();
    if (waiting == Wait.GONE) {
      return Wait.GONE;
    }
    if (status == MemberStatus.removed()) {
      return up ? Wait.GONE : Wait.JOIN; // removed after being Up: gone, not waiting to join
    }
    if (status == MemberStatus.joining() || status == MemberStatus.weaklyUp()) {
      return Wait.UP;
    }
    if (status != MemberStatus.up()) {
      return Wait.GONE;
    }
    return queueNodeUp(cluster.state()) ? Wait.NOTHING : Wait.QUEUE;
  }

  /**
   * Whether a member with role queue is Up and reachable in {@code state}: what workers and flows
   * wait for (this line, the job's progress, the status's problems).
   */
  public static boolean queueNodeUp(ClusterEvent.CurrentClusterState state) {
    Set<Member> unreachable = state.getUnreachable();
    return StreamSupport.stream(state.getMembers().spliterator(), false)
        .anyMatch(
            member ->
                member.hasRole(ProverNode.QUEUE_ROLE)
                    && member.status() == MemberStatus.up()
                    && !unreachable.contains(member));
  }

  private String waitingLine() {
    long seconds = Duration.ofNanos(System.nanoTime() - waitingSince).toSeconds();
    List<String> refusedSeeds = ownSeeds(AbsentSeeds.refusedSeeds(System.nanoTime()));
    String otherCluster = waiting == Wait.JOIN ? otherClusterOfOwnCertificate() : null;
    String refusedLine =
        refusedSeeds.isEmpty()
            ? ""
            : " (" + refusedSeeds + " refused the connection: nothing listens there)";
    return switch (waiting) {
      case JOIN ->
          seeds.isEmpty()
              ? String.format(
                  "node %s waiting to join the cluster for %d s; no seed nodes configured "
                      + "(pekko.cluster.seed-nodes): join it through Cluster.manager() or give --seeds",
                  self, seconds)
              : otherCluster != null
                  ? String.format(
                      "node %s waiting to join cluster '%s' through seeds %s for %d s; none let it in yet%s."
                          + " The likely cause: %s",
                      self, context.getSystem().name(), seeds, seconds, refusedLine, otherCluster)
                  : String.format(
                      "node %s waiting to join cluster '%s' through seeds %s for %d s; none let it in yet%s. "
                          + "Likely causes: no seed is running or --seeds has a wrong address (a seed's cluster --port, not "
                          + "its --http-port); the seeds run with another "
                          + "--cluster-name (they log 'Dropping Handshake Request ... addressed to unknown local address'); %s "
                          + "a restarted node also waits until its previous incarnation is removed",
                      self,
                      context.getSystem().name(),
                      seeds,
                      seconds,
                      refusedLine,
                      tls
                          ? "this node's certificate, or its ca.crt, is not of the cluster's CA, or the certificate names "
                              + "another cluster (the seeds log 'refused a node's connection'; take all three files, ca.crt "
                              + "too, from `prover-node keys --ca <the cluster's CA dir> --out <dir> --first <i> --nodes 1`);"
                          : "this node runs without TLS: if the seeds run with it (they log 'refused a node's connection: it "
                              + "does not speak TLS'), give --tls;");
      case UP ->
          String.format(
              "node %s joined the cluster but is not Up after %d s (%s): the leader moves it Up "
                  + "once every node is reachable or downed",
              self, seconds, cluster.selfMember().status());
      case QUEUE ->
          queueNodeThatShutDown() != null
              ? String.format(
                  "no node with role queue is up for %d s: this node's workers and flows wait; "
                      + "the last one, %s, left the cluster (it shut down); start one with --roles "
                      + "queue and --seeds naming a node of this cluster, such as %s (in code: role "
                      + "queue in pekko.cluster.roles, pekko.cluster.seed-nodes)",
                  seconds, queueNodeThatShutDown(), self)
              : String.format(
                      "no node with role queue is up for %d s: this node's workers and flows wait; "
                          + "start one with --roles queue (in code: role queue in "
                          + "pekko.cluster.roles)",
                      seconds)
                  // not while a queue node may just be restarting, which takes seconds
                  + (seconds < OWN_CLUSTER_HINT_AFTER.toSeconds()
                      ? ""
                      : String.format(
                          ". If one runs, it formed a cluster of its own (its 'is Up in the cluster'"
                              + " line names none of this cluster's nodes): restart it with --seeds"
                              + " naming a node of this cluster too, such as %s"
                              + " (pekko.cluster.seed-nodes)",
                          self));
      case NOTHING, GONE -> "";
    };
  }

  private String ended(Wait wait, long now) {
    long seconds = Duration.ofNanos(now - waitingSince).toSeconds();
    return switch (wait) {
      case JOIN -> String.format("node %s joined the cluster after waiting %d s", self, seconds);
      case UP -> String.format("node %s waited %d s to be moved Up", self, seconds);
      case QUEUE ->
          String.format(
              "a node with role queue is up after %d s of waiting: workers and flows go on",
              seconds);
      case NOTHING, GONE -> "";
    };
  }
}
