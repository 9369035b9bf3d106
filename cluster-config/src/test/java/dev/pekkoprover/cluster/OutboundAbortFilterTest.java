package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.ProverNode;
import java.time.Duration;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.Test;

/**
 * The logback filter denies exactly the warning of an outbound stream this node aborted or Artery
 * stopped on a quarantine, and a broken connection to a member that left gracefully; everything
 * else passes.
 */
class OutboundAbortFilterTest {
  private final LoggerContext context = new LoggerContext();
  private final OutboundAbortFilter filter = new OutboundAbortFilter();

  private FilterReply decide(String logger, String message) {
    return filter.decide(
        new LoggingEvent(
            getClass().getName(), context.getLogger(logger), Level.WARN, message, null, null));
  }

  @Test
  void deniesTheWarningOfAnOutboundConnectionThisNodeAborted() {
    String log = OutboundAbortFilter.STREAM_LOG;
    assertEquals(
        FilterReply.DENY,
        decide(
            log,
            "[outbound connection to [pekko://prover@127.0.0.1:46291], control "
                + "stream] Upstream failed, cause: StreamTcpException: The connection has been aborted"));
    assertEquals(
        FilterReply.DENY,
        decide(
            log,
            "[outbound connection to [pekko://prover@127.0.0.1:41075], message "
                + "stream] Upstream failed, cause: StreamTcpException: The connection has been aborted"));
  }

  @Test
  void deniesAStreamStoppedOnAQuarantineAsThisNodeShutsDown() {
    // a trial's last nodes stopped one after another: 2 per node, from the association
    String log = OutboundAbortFilter.ASSOCIATION;
    for (String stream : new String[] {"control", "message"}) {
      assertEquals(
          FilterReply.DENY,
          decide(
              log,
              "Outbound "
                  + stream
                  + " stream to [pekko://prover@127.0.0.1:27253] failed after shutdown."
                  + " org.apache.pekko.remote.artery.Association$OutboundStreamStopQuarantinedSignal$: "));
    }
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            log,
            "Outbound control stream to [pekko://prover@127.0.0.1:27253] failed after shutdown."
                + " java.lang.IllegalStateException: boom"),
        "another cause shows");
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            log,
            "Association to [pekko://prover@127.0.0.1:27253] with UID [1] is irrecoverably"
                + " failed. Quarantining address."),
        "the association's other lines show");
  }

  @Test
  void deniesTheEchoOfAQuarantineOnEachOutboundStream() {
    // as a worker node logged them 3 s after a queue node that left was removed (RollingRestartIT)
    String log = OutboundAbortFilter.STREAM_LOG;
    for (String stream : new String[] {"control", "message"}) {
      assertEquals(
          FilterReply.DENY,
          decide(
              log,
              "[outbound connection to [pekko://prover@127.0.0.1:31521], "
                  + stream
                  + " stream] Upstream failed, cause:"
                  + " Association$OutboundStreamStopQuarantinedSignal$: "));
    }
  }

  private FilterReply resetTo(String address) {
    return decide(
        OutboundAbortFilter.STREAM_LOG,
        "[outbound connection to ["
            + address
            + "], control stream] Upstream failed, cause: StreamTcpException: The connection closed"
            + " with error: Connection reset");
  }

  /**
   * Each node's guardian keeps the members that left gracefully for the filter: a reset by a queue
   * node that left (as on SIGTERM) is denied, one by a member still Up or downed (killed) shows.
   */
  @Test
  void deniesAResetOnlyByAMemberThatLeftGracefully() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode a = cluster.start("A", "queue", "", b -> b.catalog(TestNodes.catalog()));
      ProverNode q = cluster.start("Q", "queue", "", b -> b.catalog(TestNodes.catalog()));
      ProverNode k = cluster.start("K", "worker", "", b -> b.catalog(TestNodes.catalog()));
      String aAddress = Cluster.get(a.system()).selfMember().address().toString();
      String qAddress = Cluster.get(q.system()).selfMember().address().toString();
      Address kAddress = Cluster.get(k.system()).selfMember().address();
      assertEquals(FilterReply.NEUTRAL, resetTo(qAddress), "Q is Up");

      ClusterNodes.terminate(q); // as SIGTERM: hand-off, Leaving, Exiting, removed
      Cluster.get(a.system()).manager().tell(new Down(kAddress)); // as the downing of a killed node
      TestProbe<Object> probe = ActorTestKit.create(a.system()).createTestProbe();
      probe.awaitAssert(
          Duration.ofSeconds(20),
          () -> {
            assertEquals(
                1,
                StreamSupport.stream(
                        Cluster.get(a.system()).state().getMembers().spliterator(), false)
                    .count(),
                "Q and K removed");
            return null;
          });
      assertEquals(FilterReply.DENY, resetTo(qAddress), "Q left gracefully");
      assertEquals(FilterReply.NEUTRAL, resetTo(kAddress.toString()), "K was downed");
      assertEquals(FilterReply.NEUTRAL, resetTo(aAddress), "A is Up");
    }
  }

  @Test
  void letsOtherWarningsThrough() {
    String log = OutboundAbortFilter.STREAM_LOG;
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            log,
            "[outbound connection to [pekko://prover@127.0.0.1:40695], message "
                + "stream] Upstream failed, cause: StreamTcpException: The connection closed with error: Connection reset"),
        "a connection the peer broke");
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            log,
            "[outbound connection to [pekko://prover@127.0.0.1:41203], message "
                + "stream] Upstream failed, cause: StreamTcpException: Tcp command [Connect(127.0.0.1/<unresolved>:41203,None,"
                + "List(),Some(5000 milliseconds),true)] failed because of java.net.ConnectException: Connection refused"),
        "a peer that is not there");
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            "org.apache.pekko.remote.artery.Association",
            "[outbound connection to "
                + "[pekko://prover@127.0.0.1:1], control stream] Upstream failed, cause: StreamTcpException: The connection "
                + "has been aborted"),
        "the same text from another logger");
    assertEquals(
        FilterReply.NEUTRAL,
        decide(
            "org.apache.pekko.remote.artery.Association",
            "Association to [pekko://prover@127.0.0.1:31521] with UID [12345] is irrecoverably"
                + " failed. UID is now quarantined and all messages to this UID will be delivered to"
                + " dead letters. Remote ActorSystem must be restarted to recover from this"
                + " situation. Reason: "
                + "Association$OutboundStreamStopQuarantinedSignal$"),
        "the quarantine's own warning");
    assertEquals(FilterReply.NEUTRAL, decide(log, null));
  }
}
