package dev.pekkoprover.node;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The seed nodes ({@code pekko.cluster.seed-nodes}, as {@code host:port}) of this JVM's cluster
 * nodes where nothing listens: a seed that is not a member of the cluster and refused a connection.
 * The README's smallest cluster has one (every node names the same two seeds, and the second is a
 * worker node that may never run), and so does every node that rejoins after a seed stopped for
 * good. Pekko says each such attempt as a WARN ("[outbound connection to [...], control stream]
 * Upstream failed, cause: ... ConnectException: Connection refused", then "Outbound control stream
 * to [...] failed. Restarting it. ... HandshakeTimeoutException" 20 s later); cluster-config's
 * {@code PeerWaitRetryFilter} denies those for the seeds kept here, and {@link WaitingForPeers}
 * names them at INFO in its Up line and in its waiting-to-join line instead.
 *
 * <p>A member's connection refused (a killed node, before it is downed) is a fault and not kept
 * here: its WARN still shows. The registry is one per JVM, since a log filter has no actor system;
 * every cluster node of the JVM fills it through its {@link WaitingForPeers}.
 */
public final class AbsentSeeds {
  /** Configured seeds, host:port. */
  private static final Set<String> SEEDS = ConcurrentHashMap.newKeySet();

  /** host:port to how many of this JVM's nodes see a member there now. */
  private static final Map<String, Integer> MEMBERS = new ConcurrentHashMap<>();

  /**
   * How long after its last refused connection a seed still counts as one where nothing listens,
   * for the lines: Artery tries an absent seed's message stream again every 10 s or so (a trial: a
   * pair of refusals every 9.4-10.0 s), and a seed that starts is no member for a few seconds more.
   */
  static final Duration RECENT = Duration.ofSeconds(15);

  /**
   * Seeds that refused a connection while not a member, host:port, to the time of the last refusal
   * ({@link System#nanoTime()}).
   */
  private static final Map<String, Long> REFUSED = new ConcurrentHashMap<>();

  private AbsentSeeds() {}

  /** Adds a node's configured seeds, each as host:port. */
  public static void seeds(Collection<String> hostPorts) {
    SEEDS.addAll(hostPorts);
  }

  /** A node of this JVM sees a member at host:port (joining, up, leaving ...): it runs. */
  public static void memberAdded(String hostPort) {
    MEMBERS.merge(hostPort, 1, Integer::sum);
    REFUSED.remove(hostPort);
  }

  /** A node of this JVM saw the member at host:port removed. */
  public static void memberRemoved(String hostPort) {
    MEMBERS.computeIfPresent(hostPort, (key, n) -> n > 1 ? n - 1 : null);
  }

  /**
   * A connection to host:port was refused (nothing listens there): if it is a seed and no member,
   * it is kept and the answer is true (the filter denies the WARN); else false.
   */
  public static boolean connectionRefused(String hostPort) {
    return connectionRefused(hostPort, System.nanoTime());
  }

  static boolean connectionRefused(String hostPort, long nowNanos) {
    if (!SEEDS.contains(hostPort) || MEMBERS.containsKey(hostPort)) {
      return false;
    }
    REFUSED.put(hostPort, nowNanos);
    return true;
  }

  /**
   * How long after its last refused connection a seed's handshake timeout still counts as the same
   * absence: Artery gives up the handshake 20 s after its first attempt ({@code
   * pekko.remote.artery.advanced.handshake-timeout}), and the first seed node's only refusals came
   * at that attempt (a trial: refused at 16:30:23.1, timed out at 16:30:42.2). A seed that refused
   * longer ago and now times out a handshake runs but does not answer it (another cluster name, a
   * hung start): that WARN shows.
   */
  static final Duration HANDSHAKE_AFTER_REFUSAL = Duration.ofSeconds(30);

  /**
   * Whether host:port is a seed that refused a connection within {@link #HANDSHAKE_AFTER_REFUSAL}
   * and is still no member: Pekko's handshake timeout with it is the same absence, said again.
   */
  public static boolean refused(String hostPort) {
    return refused(hostPort, System.nanoTime());
  }

  static boolean refused(String hostPort, long nowNanos) {
    Long at = REFUSED.get(hostPort);
    return at != null
        && !MEMBERS.containsKey(hostPort)
        && nowNanos - at <= HANDSHAKE_AFTER_REFUSAL.toNanos();
  }

  /**
   * The seeds that are no members and refused a connection within {@link #RECENT} of {@code
   * nowNanos}, sorted: those where nothing listens now, as far as this JVM can tell.
   */
  static List<String> refusedSeeds(long nowNanos) {
    List<String> refused = new ArrayList<>();
    REFUSED.forEach(
        (seed, at) -> {
          if (!MEMBERS.containsKey(seed) && nowNanos - at <= RECENT.toNanos()) {
            refused.add(seed);
          }
        });
    refused.sort(null);
    return refused;
  }

  /** Tests only: forgets everything. */
  static void clear() {
    SEEDS.clear();
    MEMBERS.clear();
    REFUSED.clear();
  }
}
