package dev.pekkoprover.queue;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.ddata.Flag;
import org.apache.pekko.cluster.ddata.FlagKey;
import org.apache.pekko.cluster.ddata.Key;
import org.apache.pekko.cluster.ddata.ReplicatorSettings;
import org.apache.pekko.cluster.ddata.typed.javadsl.Replicator;
import org.apache.pekko.cluster.sharding.ShardCoordinator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.collection.Iterator;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Map;
import scala.collection.immutable.Set;
import scala.concurrent.Future;
import scala.concurrent.Promise;

/**
 * The queue's shard allocation strategy: where each task type's queue entity starts. A queue entity
 * never moves while its node lives (rebalancing would drop its in-memory state), so where the
 * entities start decides how the task types spread over the queue nodes for the cluster's life. The
 * sequencer's start-up uses every type at once; in a new cluster whose queue nodes start together,
 * the first of them is Up a second or two before the others, and Pekko's least-shard strategy alone
 * would place every entity on it.
 *
 * <p>So, with {@code prover.queue.cluster.placement.queue-nodes = N} (the node command's {@code
 * --queue-nodes}), the first placement in a cluster waits until N queue regions have registered
 * with the shard coordinator, for at most {@code max-wait}; then, and for every later shard, it is
 * Pekko's least-shard allocation (fewest shards first, Up members before leaving ones). While it
 * waits, an allocation is answered with a future that never completes: the requesting region keeps
 * its messages buffered and asks again every {@code pekko.cluster.sharding.retry-interval} (a
 * failed future would be logged at ERROR by the coordinator).
 *
 * <p>Unlike Pekko's {@code pekko.cluster.role.queue.min-nr-of-members}, which every coordinator
 * applies each time it starts (a restarted first node, or a standby carrying the setting, stopped
 * all placing while fewer queue nodes were Up: docs/deployment.md), the wait is for the cluster's
 * first placement only. A later coordinator (the oldest queue node died or left) does not wait when
 * any region holds a shard, nor when the cluster placed entities before: the first placement (with
 * any setting, 1 included, so that nodes restarted with a larger one find it) sets a {@link Flag}
 * in a {@link Replicator} of the queue nodes ({@value #REPLICATOR_NAME}), which gossip gives every
 * queue node, also one that joins later, so a coordinator that finds every shard gone with its node
 * (all of them had lived there) still places at once. Only a cluster started anew (every queue node
 * gone) waits again.
 *
 * <p>Allocation runs on the coordinator's actor, one call at a time; the flag's read completes on
 * another thread and only sets {@link #flagSeen}.
 */
public final class QueuePlacement implements ShardCoordinator.StartableAllocationStrategy {
  private static final Logger log = LoggerFactory.getLogger(QueuePlacement.class);

  /** The name of the queue nodes' replicator of the placement flag (a system actor). */
  public static final String REPLICATOR_NAME = "queuePlacementReplicator";

  /** Set once the cluster placed its first queue entity. */
  static final Key<Flag> PLACED = FlagKey.create("prover-queue-placed");

  /** How often, at most, a waiting coordinator reads the placement flag again. */
  private static final long FLAG_READ_INTERVAL_NANOS = Duration.ofSeconds(1).toNanos();

  /**
   * {@code prover.queue.cluster.placement}.
   *
   * @param queueNodes how many queue regions the cluster's first placement waits for; 1 or less
   *     places at once
   * @param maxWait the longest that wait, counted from the coordinator's start (a coordinator that
   *     moves during the wait, its node gone, begins its own)
   */
  public record Settings(int queueNodes, Duration maxWait) {
    /**
     * Reads {@code prover.queue.cluster.placement}; throws {@code ConfigException} when invalid.
     */
    public static Settings fromConfig(Config config) {
      Config placement = config.getConfig("prover.queue.cluster.placement");
      int nodes = placement.getInt("queue-nodes");
      Duration maxWait = placement.getDuration("max-wait");
      if (nodes < 1) {
        throw new com.typesafe.config.ConfigException.BadValue(
            "prover.queue.cluster.placement.queue-nodes",
            "is " + nodes + ", give 1 (place at once) or the number of queue nodes to wait for");
      }
      if (maxWait.isNegative()) {
        throw new com.typesafe.config.ConfigException.BadValue(
            "prover.queue.cluster.placement.max-wait",
            "is " + maxWait + ", give how long a new cluster's first placement may wait, e.g. 60s");
      }
      return new Settings(nodes, maxWait);
    }

    /**
     * How long after a node is Up a first placement may still be waiting: {@link #maxWait} from the
     * coordinator's start, which comes about with the oldest queue node's Up, and 30 s of margin.
     */
    public Duration waitOverWithin() {
      return maxWait.plusSeconds(30);
    }
  }

  private final Settings settings;
  private final ActorSystem<?> system;

  /** This node's replicator of {@link #PLACED}; null on a node without the queue role. */
  private final org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator;

  private final LongSupplier nanoTime;
  private final ShardCoordinator.ShardAllocationStrategy leastShard =
      ShardCoordinator.ShardAllocationStrategy$.MODULE$.leastShardAllocationStrategy(1, 0.1);

  /** Whether the cluster placed entities already, as this coordinator knows. */
  private boolean placed;

  /** Whether a read of {@link #PLACED} found it set (completes on another thread). */
  private volatile boolean flagSeen;

  /** Whether a read of {@link #PLACED} has completed (the wait is said only after one). */
  private volatile boolean flagReadDone;

  private long coordinatorStart;
  private boolean waitSaid;
  private long lastFlagRead;
  private volatile boolean flagReadInFlight;

  private QueuePlacement(
      Settings settings,
      ActorSystem<?> system,
      org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator,
      LongSupplier nanoTime) {
    this.settings = settings;
    this.system = system;
    this.replicator = replicator;
    this.nanoTime = nanoTime;
    this.coordinatorStart = nanoTime.getAsLong();
    this.flagReadDone = replicator == null;
  }

  /** Whether a read of the placement flag has completed (for tests). */
  boolean flagReadDone() {
    return flagReadDone;
  }

  /**
   * The strategy of a node's queue entities. On a node with the queue role it starts the node's
   * replicator of the placement flag (every queue node must run one, so that each knows whether the
   * cluster placed entities before).
   *
   * @param queueNode whether this node has the queue role (only there does a coordinator run)
   */
  public static QueuePlacement create(
      ActorSystem<?> system, Settings settings, String role, boolean queueNode) {
    org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator =
        queueNode
            ? system.systemActorOf(
                Replicator.behavior(
                    ReplicatorSettings.apply(system.classicSystem()).withRole(role)),
                REPLICATOR_NAME,
                Props.empty())
            : null;
    return new QueuePlacement(settings, system, replicator, System::nanoTime);
  }

  /** For tests: a strategy with its own clock. */
  static QueuePlacement forTest(
      Settings settings,
      ActorSystem<?> system,
      org.apache.pekko.actor.typed.ActorRef<Replicator.Command> replicator,
      LongSupplier nanoTime) {
    return new QueuePlacement(settings, system, replicator, nanoTime);
  }

  @Override
  public void start() {
    coordinatorStart = nanoTime.getAsLong();
    waitSaid = false;
    if (leastShard instanceof ShardCoordinator.ActorSystemDependentAllocationStrategy startable) {
      startable.start(system.classicSystem());
    }
    if (!placed) {
      readFlag(); // before the first allocation if it can: a takeover then never says it waits
    }
  }

  @Override
  public Future<ActorRef> allocateShard(
      ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> allocations) {
    if (!placed) {
      if (settings.queueNodes() <= 1) {
        markPlaced(); // for a later coordinator with a larger setting (a node restarted with it)
      } else if (!placeNow(allocations)) {
        return Promise.<ActorRef>apply().future(); // asked again at the region's next retry
      }
    }
    return leastShard.allocateShard(requester, shardId, allocations);
  }

  /** Whether the first placement may happen now; says why once it does, or that it waits. */
  private boolean placeNow(Map<ActorRef, IndexedSeq<String>> allocations) {
    int regions = allocations.size();
    double waited = (nanoTime.getAsLong() - coordinatorStart) / 1e9;
    if (anyShardAllocated(allocations)) {
      markPlaced(); // a coordinator that took over a running cluster: nothing to wait for
      return true;
    }
    if (regions >= settings.queueNodes()) {
      log.info(
          "queue placement: placing the queue's entities over the {} queue nodes registered with"
              + " the shard coordinator ({}; prover.queue.cluster.placement.queue-nodes = {}), {} s"
              + " after it started",
          regions,
          nodesOf(allocations),
          settings.queueNodes(),
          seconds(waited));
      markPlaced();
      return true;
    }
    if (waited >= settings.maxWait().toNanos() / 1e9) {
      log.warn(
          "queue placement: only {} of {} queue nodes registered with the shard coordinator within"
              + " {} s (prover.queue.cluster.placement.max-wait): the queue's entities are placed"
              + " on those ({}) and stay there while their nodes live (entities are never"
              + " rebalanced). Start the queue nodes together, or give --queue-nodes"
              + " (prover.queue.cluster.placement.queue-nodes) the number that start with the"
              + " cluster",
          regions,
          settings.queueNodes(),
          seconds(waited),
          nodesOf(allocations));
      markPlaced();
      return true;
    }
    if (flagSeen) {
      placed = true;
      log.info(
          "queue placement: this cluster placed queue entities before (every shard was on nodes"
              + " that went); placing on the {} queue node(s) registered now",
          regions);
      return true;
    }
    readFlag(); // again every second while waiting: gossip may bring the flag late
    if (!waitSaid && flagReadDone) {
      waitSaid = true;
      log.info(
          "queue placement: the queue's entities wait until {} queue nodes have registered with"
              + " the shard coordinator ({} have; prover.queue.cluster.placement.queue-nodes), at"
              + " most {} s, so that a new cluster spreads its task types over them",
          settings.queueNodes(),
          regions,
          settings.maxWait().toMillis() % 1000 == 0
              ? String.valueOf(settings.maxWait().toSeconds())
              : seconds(settings.maxWait().toMillis() / 1e3));
    }
    return false;
  }

  /**
   * While fewer than {@code queueNodes} members with {@code role} are Up (or WeaklyUp): the line
   * that says the first placement waits for them, for a node's own progress and partial answers;
   * else null. Read from the membership only (the wait itself runs on the oldest queue node), so it
   * also holds after a placement, in a cluster that lost queue nodes: callers look only while no
   * queue entity answers.
   */
  public static String firstPlacementWait(
      Iterable<org.apache.pekko.cluster.Member> members, String role, int queueNodes) {
    if (queueNodes <= 1) {
      return null;
    }
    int up = 0;
    for (org.apache.pekko.cluster.Member member : members) {
      if (member.hasRole(role)
          && (member.status() == org.apache.pekko.cluster.MemberStatus.up()
              || member.status() == org.apache.pekko.cluster.MemberStatus.weaklyUp())) {
        up++;
      }
    }
    return up >= queueNodes
        ? null
        : "the queues are placed once "
            + queueNodes
            + " queue nodes are Up (--queue-nodes, prover.queue.cluster.placement.queue-nodes; "
            + up
            + " are), so that a new cluster spreads its task types over them";
  }

  /** The regions' nodes as {@code host:port}, in the coordinator's order (this node's too). */
  private String nodesOf(Map<ActorRef, IndexedSeq<String>> allocations) {
    StringBuilder nodes = new StringBuilder();
    Iterator<ActorRef> regions = allocations.keysIterator();
    while (regions.hasNext()) {
      org.apache.pekko.actor.Address address = regions.next().path().address();
      if (!address.hasGlobalScope()) {
        address = system.address();
      }
      nodes
          .append(nodes.length() == 0 ? "" : ", ")
          .append(address.getHost().orElse("?"))
          .append(':')
          .append(address.getPort().map(String::valueOf).orElse("?"));
    }
    return nodes.toString();
  }

  private static boolean anyShardAllocated(Map<ActorRef, IndexedSeq<String>> allocations) {
    Iterator<IndexedSeq<String>> shards = allocations.valuesIterator();
    while (shards.hasNext()) {
      if (!shards.next().isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /** Starts a read of the flag when none is under way and the last is a second old. */
  private void readFlag() {
    long now = nanoTime.getAsLong();
    if (replicator == null
        || flagReadInFlight
        || (lastFlagRead != 0 && now - lastFlagRead < FLAG_READ_INTERVAL_NANOS)) {
      return;
    }
    lastFlagRead = now;
    flagReadInFlight = true;
    AskPattern.<Replicator.Command, Replicator.GetResponse<Flag>>ask(
            replicator,
            replyTo -> new Replicator.Get<>(PLACED, Replicator.readLocal(), replyTo),
            Duration.ofSeconds(3),
            system.scheduler())
        .whenComplete(
            (answer, failure) -> {
              if (answer instanceof Replicator.GetSuccess<Flag> found
                  && found.dataValue().enabled()) {
                flagSeen = true;
              }
              flagReadDone = true;
              flagReadInFlight = false;
            });
  }

  /**
   * Remembers the placement here and tells the other queue nodes (by gossip, and a majority now).
   */
  private void markPlaced() {
    placed = true;
    if (replicator != null) {
      AskPattern.<Replicator.Command, Replicator.UpdateResponse<Flag>>ask(
          replicator,
          replyTo ->
              new Replicator.Update<>(
                  PLACED,
                  Flag.create(),
                  new Replicator.WriteMajority(Duration.ofSeconds(5)),
                  replyTo,
                  Flag::switchOn),
          Duration.ofSeconds(6),
          system.scheduler());
    }
  }

  /** No shard ever moves for balance: an entity's state is in memory (see the class comment). */
  @Override
  public Future<Set<String>> rebalance(
      Map<ActorRef, IndexedSeq<String>> allocations, Set<String> rebalanceInProgress) {
    return Future.successful(scala.collection.immutable.Set$.MODULE$.<String>empty());
  }

  private static String seconds(double value) {
    return String.format(Locale.ROOT, "%.1f", value);
  }
}
