package dev.pekkoprover.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Logback filter that denies the WARN Pekko Streams logs when this node itself aborts one of
 * Artery's outbound TCP streams: "[outbound connection to [pekko://...], control stream] Upstream
 * failed, cause: StreamTcpException: The connection has been aborted". A node whose actor system
 * terminates (every graceful exit: {@code --exit-when-done}, SIGTERM, a downed node's shutdown)
 * aborts each of its outbound connections and used to log two of these per peer after its last line
 * of work; Artery also aborts one when it stops an idle outbound stream. Neither is a fault, and a
 * fault that aborts a stream is reported by its own lines (unreachable, quarantined). A connection
 * the peer broke ("The connection closed with error: Connection reset", a killed node) and every
 * other stream warning still show.
 */
public final class OutboundAbortFilter extends Filter<ILoggingEvent> {
  static final String STREAM_LOG = "org.apache.pekko.stream.Materializer";

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (!STREAM_LOG.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    String message = event.getFormattedMessage();
    if (message != null
        && message.startsWith("[outbound connection to [")
        && message.endsWith(
            "] Upstream failed, cause: StreamTcpException: The connection has been aborted")) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
