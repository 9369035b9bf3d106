package dev.pekkoprover.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.AbsentSeeds;
import dev.pekkoprover.node.WaitingForPeers;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Logback filter that denies the WARNs Pekko repeats while a node waits for a peer, which {@link
 * WaitingForPeers} says once every 5 s at INFO instead (what it waits for and how to fix it):
 *
 * <ul>
 *   <li>a sharding region's line on every registration retry while no coordinator answers ("Trying
 *       to register to coordinator ... no acknowledgement", "No coordinator found to register",
 *       "Requested shard homes"): with {@code retry-interval = 20ms} about fifty lines a second for
 *       as long as no node with role queue is up;
 *   <li>the cluster's "Couldn't join seed nodes after [n] attempts, will try again" every
 *       seed-node-timeout while no seed answers (a restarted worker waiting for its paused or
 *       restarting seed);
 *   <li>Artery's lines for a seed where nothing listens and that is no member ({@link
 *       AbsentSeeds}): "[outbound connection to [pekko://...], control stream] Upstream failed,
 *       cause: StreamTcpException: Tcp command [Connect(...)] failed because of
 *       java.net.ConnectException: Connection refused", one per stream, and 20 s later "Outbound
 *       control stream to [pekko://...] failed. Restarting it. ... HandshakeTimeoutException". The
 *       README's smallest cluster has such a seed on every node; the Up line names it instead. A
 *       member's refused connection (a killed node) still shows.
 * </ul>
 *
 * Every other warning still shows: a region's full buffer or unknown message, seeds with an
 * incompatible configuration.
 */
public final class PeerWaitRetryFilter extends Filter<ILoggingEvent> {
  static final String SHARD_REGION = "org.apache.pekko.cluster.sharding.ShardRegion";

  /**
   * Parts of the three retry messages (after the region's type name), as ShardRegion.scala writes
   * them.
   */
  private static final List<String> RETRY_TEXTS =
      List.of(
          ": Trying to register to coordinator at [",
          ": No coordinator found to register.",
          ": Requested shard homes [");

  static final String CLUSTER = "org.apache.pekko.cluster.Cluster";

  /** The seed-join retry, as SeedNodeProcess.scala writes it. */
  static final String SEED_RETRY = "Couldn't join seed nodes after [";

  static final String STREAM_LOG = "org.apache.pekko.stream.Materializer";
  static final String ASSOCIATION = "org.apache.pekko.remote.artery.Association";

  /**
   * The host:port of an address in a log line: a name or IPv4 address, or an IPv6 one in brackets
   * ({@code [::1]:2552}), as {@code ProverNode.hostPort} writes a seed.
   */
  private static final String HOST_PORT = "(\\[[0-9a-fA-F:.%]+\\]:\\d+|[^\\]\\[#]+)";

  /** An outbound connection nothing accepted, as Pekko Streams' Tcp stage reports it. */
  private static final Pattern REFUSED =
      Pattern.compile(
          "^\\[outbound connection to \\[[a-z]+://[^@\\]]+@"
              + HOST_PORT
              + "\\], [a-z ]+\\] Upstream failed, cause: "
              + "StreamTcpException: .*ConnectException: Connection refused");

  /** The association's handshake that nobody answered, as Association.scala reports it. */
  private static final Pattern HANDSHAKE_TIMEOUT =
      Pattern.compile(
          "^Outbound [a-z ]+ stream to \\[[a-z]+://[^@\\]]+@"
              + HOST_PORT
              + "\\] failed\\. Restarting it\\. "
              + ".*HandshakeTimeoutException");

  @Override
  public FilterReply decide(ILoggingEvent event) {
    String message = event.getFormattedMessage();
    if (message != null && STREAM_LOG.equals(event.getLoggerName())) {
      Matcher refused = REFUSED.matcher(message);
      return refused.find() && AbsentSeeds.connectionRefused(refused.group(1))
          ? FilterReply.DENY
          : FilterReply.NEUTRAL;
    }
    if (message != null && ASSOCIATION.equals(event.getLoggerName())) {
      Matcher timeout = HANDSHAKE_TIMEOUT.matcher(message);
      return timeout.find() && AbsentSeeds.refused(timeout.group(1))
          ? FilterReply.DENY
          : FilterReply.NEUTRAL;
    }
    if (message != null
        && event.getLoggerName() != null
        && event.getLoggerName().startsWith(CLUSTER)
        && message.contains(SEED_RETRY)) {
      return FilterReply.DENY;
    }
    if (!SHARD_REGION.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    if (message != null) {
      for (String text : RETRY_TEXTS) {
        if (message.contains(text)) {
          return FilterReply.DENY;
        }
      }
    }
    return FilterReply.NEUTRAL;
  }
}
