package dev.pekkoprover.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.GracefulLeaves;

/**
 * Logback filter that denies the WARN Pekko Streams logs when this node itself aborts one of
 * Artery's outbound TCP streams: "[outbound connection to [pekko://...], control stream] Upstream
 * failed, cause: StreamTcpException: The connection has been aborted". A node whose actor system
 * terminates (every graceful exit: {@code --exit-when-done}, SIGTERM, a downed node's shutdown)
 * aborts each of its outbound connections and used to log two of these per peer after its last line
 * of work; Artery also aborts one when it stops an idle outbound stream. Neither is a fault, and a
 * fault that aborts a stream is reported by its own lines (unreachable, quarantined).
 *
 * <p>It also denies the same WARN with cause {@code
 * Association$OutboundStreamStopQuarantinedSignal$}: Artery stops the outbound streams of an
 * association it quarantined. A member that left gracefully (a rolling restart) is quarantined a
 * few seconds after its removal ({@code pekko.cluster.quarantine-removed-node-after}), which is
 * normal (Artery's own line for it, "Association to [...] having UID [...] has been stopped", is
 * INFO, below the shipped level); a quarantine for a fault has Artery's own WARN ("Association to
 * [...] with UID [...] is irrecoverably failed"). Either way the stream line only echoes it, once
 * per stream. So is Artery's own "Outbound ... stream to [...] failed after shutdown" with that
 * cause, when this node's transport shuts down after such a quarantine.
 *
 * <p>A connection the peer broke ("The connection closed with error: Connection reset", or any
 * other {@code StreamTcpException}) is denied only when the peer left the cluster gracefully
 * ({@link GracefulLeaves}: Leaving or Exiting, or removed after that less than 30 s ago): such a
 * member exits its process about when the others remove it, and a connection still open to it then
 * ends with a reset (about one rolling restart in twenty). The leave itself has its lines (the
 * sequencer's "Queue node ... leaves", the workers' stop notices). A killed or downed node's reset,
 * and every other stream warning, still show.
 */
public final class OutboundAbortFilter extends Filter<ILoggingEvent> {
  static final String STREAM_LOG = "org.apache.pekko.stream.Materializer";

  /**
   * The cause of a stream Artery stopped because it quarantined the peer, as Association.scala
   * names it.
   */
  static final String QUARANTINED_STOP =
      "] Upstream failed, cause: Association$OutboundStreamStopQuarantinedSignal$";

  /** A broken TCP connection, as Pekko Streams' Tcp stage reports it. */
  static final String TCP_FAILED = "] Upstream failed, cause: StreamTcpException: ";

  private static final String OUTBOUND = "[outbound connection to [";

  /** Artery's association, which says the same of a stream it stopped once its node shut down. */
  static final String ASSOCIATION = "org.apache.pekko.remote.artery.Association";

  /**
   * "Outbound control stream to [pekko://...] failed after shutdown. ...OutboundStreamStop
   * QuarantinedSignal$: ": this node's transport shutting down (or the association removed) while a
   * stream to a peer it had quarantined was stopped, e.g. the last nodes of a cluster stopped one
   * after another (a trial's 2 per node). Another cause still shows.
   */
  private static final java.util.regex.Pattern STOPPED_AFTER_SHUTDOWN =
      java.util.regex.Pattern.compile(
          "^Outbound [a-z ]+ stream to \\[[^\\]]+\\] failed after shutdown\\. \\S*"
              + "Association\\$OutboundStreamStopQuarantinedSignal\\$");

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (ASSOCIATION.equals(event.getLoggerName())) {
      String message = event.getFormattedMessage();
      return message != null && STOPPED_AFTER_SHUTDOWN.matcher(message).find()
          ? FilterReply.DENY
          : FilterReply.NEUTRAL;
    }
    if (!STREAM_LOG.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    String message = event.getFormattedMessage();
    if (message == null || !message.startsWith(OUTBOUND)) {
      return FilterReply.NEUTRAL;
    }
    if (message.endsWith(
            "] Upstream failed, cause: StreamTcpException: The connection has been aborted")
        || message.contains(QUARANTINED_STOP)) {
      return FilterReply.DENY;
    }
    int end = message.indexOf(']', OUTBOUND.length());
    if (end > 0
        && message.contains(TCP_FAILED)
        && GracefulLeaves.leftGracefully(message.substring(OUTBOUND.length(), end))) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
