package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.AbsentSeeds;
import java.util.List;
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

  private static String refused(String hostPort, String stream) {
    return "[outbound connection to [pekko://prover@"
        + hostPort
        + "], "
        + stream
        + " stream] Upstream failed, cause: StreamTcpException: Tcp command [Connect("
        + hostPort.substring(0, hostPort.lastIndexOf(':'))
        + "/<unresolved>"
        + hostPort.substring(hostPort.lastIndexOf(':'))
        + ",None,List(),Some(5000 milliseconds),true)] failed because of java.net.ConnectException:"
        + " Connection refused";
  }

  private static String handshakeTimeout(String hostPort) {
    return "Outbound control stream to [pekko://prover@"
        + hostPort
        + "] failed. Restarting it. org.apache.pekko.remote.artery.OutboundHandshake$"
        + "HandshakeTimeoutException: Handshake with [pekko://prover@"
        + hostPort
        + "] did not complete within 20000 ms";
  }

  /**
   * The README's smallest cluster: every node names the same two seeds and the second, a worker
   * node, never runs. Artery's two connection lines and its handshake timeout 20 s later, as a
   * trial's nodes logged them, are denied for that seed; a member's (a killed node's) and those of
   * an address that is no seed still show, as does the timeout of a seed that never refused (it
   * runs, but answers no handshake: another cluster's name, a refused certificate).
   */
  @Test
  void deniesArterysLinesForASeedWhereNothingListensButNotForAMember() {
    String absent = "127.0.0.1:42552";
    String member = "127.0.0.1:42553";
    String silent = "127.0.0.1:42554";
    AbsentSeeds.seeds(List.of("127.0.0.1:42551", absent, member, silent));
    AbsentSeeds.memberAdded(member);
    String log = PeerWaitRetryFilter.STREAM_LOG;
    String association = PeerWaitRetryFilter.ASSOCIATION;

    assertEquals(
        FilterReply.NEUTRAL, decide(association, handshakeTimeout(absent)), "not refused yet");
    assertEquals(FilterReply.DENY, decide(log, refused(absent, "control")));
    assertEquals(FilterReply.DENY, decide(log, refused(absent, "message")));
    assertEquals(FilterReply.DENY, decide(association, handshakeTimeout(absent)));

    assertEquals(FilterReply.NEUTRAL, decide(log, refused(member, "control")), "a killed member");
    assertEquals(FilterReply.NEUTRAL, decide(association, handshakeTimeout(member)));
    assertEquals(
        FilterReply.NEUTRAL, decide(log, refused("127.0.0.1:42555", "control")), "no seed");
    assertEquals(
        FilterReply.NEUTRAL,
        decide(association, handshakeTimeout(silent)),
        "a seed that runs but answers no handshake");

    // the absent seed starts and joins: its later refusals (killed before it is downed) show
    AbsentSeeds.memberAdded(absent);
    assertEquals(FilterReply.NEUTRAL, decide(log, refused(absent, "control")));
    assertEquals(FilterReply.NEUTRAL, decide(association, handshakeTimeout(absent)));
    // removed (downed, or left): nothing listens there again, as for a seed never started
    AbsentSeeds.memberRemoved(absent);
    assertEquals(FilterReply.DENY, decide(log, refused(absent, "control")));

    // a seed given by name, and one at an IPv6 address (in brackets, as in the seed list)
    AbsentSeeds.seeds(List.of("prover-1.prover:42556", "[::1]:42557"));
    assertEquals(FilterReply.DENY, decide(log, refused("prover-1.prover:42556", "message")));
    assertEquals(FilterReply.DENY, decide(log, refused("[::1]:42557", "control")));
    assertEquals(FilterReply.DENY, decide(association, handshakeTimeout("[::1]:42557")));
  }
}
