package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;

/**
 * The logback filter denies exactly Pekko's per-retry warnings while a peer is missing; everything
 * else passes.
 */
class PeerWaitRetryFilterTest {
  private final LoggerContext context = new LoggerContext();
  private final PeerWaitRetryFilter filter = new PeerWaitRetryFilter();

  private FilterReply decide(String logger, String message) {
    return filter.decide(
        new LoggingEvent(
            getClass().getName(), context.getLogger(logger), Level.WARN, message, null, null));
  }

  @Test
  void deniesTheRegistrationRetryWarnings() {
    String region = PeerWaitRetryFilter.SHARD_REGION;
    assertEquals(
        FilterReply.DENY,
        decide(
            region,
            "task-queue: Trying to register to coordinator at "
                + "[ActorSelection[Anchor(pekko://prover@127.0.0.1:2551/), Path(/system/sharding/task-queueCoordinator/"
                + "singleton/coordinator)]], but no acknowledgement. Total [3] buffered messages. [Coordinator [Member("
                + "pekko://prover@127.0.0.1:2551, Up)] is unreachable.]"));
    assertEquals(
        FilterReply.DENY,
        decide(
            region,
            "task-queue: No coordinator found to register. Has Cluster "
                + "Sharding been started on every node and nodes been configured with the correct role(s)? Total [2] "
                + "buffered messages."));
    assertEquals(
        FilterReply.DENY,
        decide(
            region,
            "task-queue: Requested shard homes [12,7] from coordinator at "
                + "[Actor[pekko://prover@127.0.0.1:2551/system/sharding/task-queueCoordinator/singleton/coordinator#1]]. "
                + "[4] total buffered messages."));
  }

  @Test
  void deniesTheSeedJoinRetryButNotAnIncompatibleSeed() {
    String cluster = PeerWaitRetryFilter.CLUSTER;
    assertEquals(
        FilterReply.DENY,
        decide(
            cluster,
            "Cluster Node [pekko://prover@127.0.0.1:2552] - Couldn't join "
                + "seed nodes after [3] attempts, will try again. seed-nodes=[pekko://prover@127.0.0.1:2551]"));
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            cluster,
            "Cluster Node [pekko://prover@127.0.0.1:2552] - Couldn't "
                + "join seed nodes because of incompatible cluster configuration. It's recommended to shut down this node."));
  }

  @Test
  void letsOtherWarningsThrough() {
    String region = PeerWaitRetryFilter.SHARD_REGION;
    assertEquals(
        FilterReply.NEUTRAL,
        decide(region, "task-queue: Buffer is full, dropping message for shard [3]"));
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            region,
            "task-queue: ShardRegion is using [60.0 %] of its buffer "
                + "capacity. The coordinator might not be available. You might want to check cluster membership status."));
    assertEquals(
        FilterReply.NEUTRAL,
        decide("dev.pekkoprover.queue.QueueFront", "task-queue: No coordinator found to register."),
        "the same text from another logger");
    assertEquals(FilterReply.NEUTRAL, decide(region, null));
  }
}
