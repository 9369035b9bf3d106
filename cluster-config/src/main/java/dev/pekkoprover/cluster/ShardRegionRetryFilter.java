package dev.pekkoprover.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.List;

/**
 * Logback filter that denies the WARN a sharding region logs on every registration retry while no coordinator
 * answers ("Trying to register to coordinator ... no acknowledgement", "No coordinator found to register",
 * "Requested shard homes"): with {@code retry-interval = 100ms} that is about ten lines a second for as long as no
 * node with role queue is up. {@link WaitingForPeers} says the same once every 5 s at INFO. Every other warning of
 * the region (a full buffer, an unknown message) still shows.
 */
public final class ShardRegionRetryFilter extends Filter<ILoggingEvent> {
  static final String SHARD_REGION = "org.apache.pekko.cluster.sharding.ShardRegion";

  /** Parts of the three retry messages (after the region's type name), as ShardRegion.scala writes them. */
  private static final List<String> RETRY_TEXTS = List.of(
      ": Trying to register to coordinator at [",
      ": No coordinator found to register.",
      ": Requested shard homes [");

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (!SHARD_REGION.equals(event.getLoggerName())) {
      return FilterReply.NEUTRAL;
    }
    String message = event.getFormattedMessage();
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
