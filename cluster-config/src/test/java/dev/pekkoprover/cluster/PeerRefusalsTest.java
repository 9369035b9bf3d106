package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.PeerRefusals;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A refused peer is one log line, then one per period with the count of refusals in between; kinds
 * apart.
 */
class PeerRefusalsTest {
  @Test
  void oneLinePerPeerAndKindPerPeriod() {
    AtomicLong now = new AtomicLong();
    PeerRefusals refusals = new PeerRefusals(Duration.ofMinutes(10), now::get);
    assertEquals("refused a", refusals.report("a", "refused a"));
    assertNull(refusals.report("a", "refused a"));
    assertEquals("refused b", refusals.report("b", "refused b"), "another peer has its own line");
    now.addAndGet(Duration.ofMinutes(9).toNanos());
    assertNull(refusals.report("a", "refused a"));
    now.addAndGet(Duration.ofMinutes(1).toNanos());
    assertEquals(
        "refused a (3 refusals of this kind since the last line)",
        refusals.report("a", "refused a"));
  }

  @Test
  void aKindNotRefusedForTwoPeriodsIsForgotten() {
    AtomicLong now = new AtomicLong();
    PeerRefusals refusals = new PeerRefusals(Duration.ofMinutes(10), now::get);
    assertEquals("refused a", refusals.report("a", "refused a"));
    assertNull(refusals.report("a", "refused a")); // counted, not yet in a line
    now.addAndGet(Duration.ofMinutes(20).toNanos());
    assertEquals("refused b", refusals.report("b", "refused b")); // the sweep forgets a
    assertEquals(
        "refused a", refusals.report("a", "refused a"), "a first line again, with no count");
    now.addAndGet(Duration.ofMinutes(19).toNanos());
    assertEquals("refused c", refusals.report("c", "refused c")); // b and a are 19 min old: kept
    assertEquals(
        "refused b (1 refusals of this kind since the last line)",
        refusals.report("b", "refused b"));
  }

  @Test
  void theFilterLetsThroughThePekkoLineOfEachRefusedPeerOnce() {
    RepeatedRefusalFilter filter = new RepeatedRefusalFilter();
    String other =
        "Dropping Handshake Request from [pekko://other@127.0.0.1:4001#-46374] addressed to unknown local "
            + "address [pekko://other@127.0.0.1:7355]. Local address is [pekko://prover@127.0.0.1:7355].";
    String third = other.replace("4001", "4002");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.INBOUND_HANDSHAKE + "$$anon$2", other)));
    assertEquals(
        FilterReply.DENY,
        filter.decide(event(RepeatedRefusalFilter.INBOUND_HANDSHAKE + "$$anon$2", other)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.INBOUND_HANDSHAKE + "$$anon$2", third)));
    String tls =
        "[outbound connection to [pekko://prover@127.0.0.1:7355], control stream] Upstream failed, cause: "
            + "SSLHandshakeException: PKIX path building failed";
    assertEquals(FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.STREAM_LOG, tls)));
    assertEquals(FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.STREAM_LOG, tls)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.STREAM_LOG, "something else")));
    // the association's restart line of the same refusal: once per peer (its control and message
    // streams alike)
    String restart =
        "Outbound message stream to [pekko://prover@127.0.0.1:2761] failed. Restarting it. "
            + "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
            + "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
            + "certification path to requested target";
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, restart)));
    assertEquals(
        FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, restart)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, restart.replace("2761", "2762"))));
    // a seed that is a node's HTTP port, as a node without TLS, and one with TLS, logged them
    String notPekko =
        "Outbound message stream to [pekko://prover@127.0.0.1:27080] failed. Restarting it. "
            + "java.lang.IllegalStateException: Unexpected incoming bytes in outbound connection to "
            + "[pekko://prover@127.0.0.1:27080]";
    String notPekkoControl = notPekko.replace("message stream", "control stream");
    String ignoredQuarantine =
        "Quarantine of [pekko://prover@127.0.0.1:27080] ignored because unknown UID. Reason: "
            + "Outbound control stream restarted. java.lang.IllegalStateException: Unexpected "
            + "incoming bytes in outbound connection to [pekko://prover@127.0.0.1:27080]";
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, notPekko)));
    for (String repeat : new String[] {notPekko, notPekkoControl, ignoredQuarantine}) {
      assertEquals(
          FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, repeat)));
    }
    String plaintext =
        "[outbound connection to [pekko://prover@127.0.0.1:27090], message stream] Upstream "
            + "failed, cause: SSLException: Unrecognized SSL message, plaintext connection?";
    String plaintextRestart =
        "Outbound message stream to [pekko://prover@127.0.0.1:27090] failed. Restarting it. "
            + "javax.net.ssl.SSLException: Unrecognized SSL message, plaintext connection?";
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.STREAM_LOG, plaintext)));
    assertEquals(
        FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.STREAM_LOG, plaintext)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, plaintextRestart)));
    assertEquals(
        FilterReply.DENY,
        filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, plaintextRestart)));
    String otherFailure =
        "Outbound message stream to [pekko://prover@127.0.0.1:2761] failed. Restarting it. "
            + "org.apache.pekko.remote.artery.OutboundHandshake$HandshakeTimeoutException: ...";
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, otherFailure)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.ASSOCIATION, otherFailure)),
        "other failures are untouched");
  }

  @Test
  void aDownedNodeBackFromAPauseSaysItsDecisionAndEachPeersQuarantineOnce() {
    // a worker resumed after a 30 s SIGSTOP: 18 SBR lines and 15 quarantine lines in a second
    RepeatedRefusalFilter filter = new RepeatedRefusalFilter();
    String sbr =
        "SBR took decision DownSelfQuarantinedByRemote and is downing [pekko://prover@127.0.0.1:27562]"
            + " including myself, [4] unreachable of [5] members, all members in DC [...]";
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.SPLIT_BRAIN_RESOLVER, sbr)));
    assertEquals(
        FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.SPLIT_BRAIN_RESOLVER, sbr)));
    String by =
        "Other node [pekko://prover@127.0.0.1:27561#919394104569140578] quarantined this node.";
    assertEquals(FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.ARTERY, by)));
    assertEquals(FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.ARTERY, by)));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.ARTERY, by.replace("27561", "27552"))),
        "another peer's");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(
            event(
                RepeatedRefusalFilter.SPLIT_BRAIN_RESOLVER,
                "SBR took decision DownUnreachable and is downing [...]")),
        "another decision is untouched");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.ARTERY, "Remoting started with transport")));
  }

  @Test
  void aPeerCompressingWithAnOlderIncarnationsTableIsLoggedOncePerPeerIncarnation() {
    // the sequencer's node when a paused worker the cluster downed resumed: 15 lines in a second
    RepeatedRefusalFilter filter = new RepeatedRefusalFilter();
    String old =
        "Inbound message from originUid [8957400018301901956] is using unknown compression table"
            + " version. It may have been sent with compression table built for previous"
            + " incarnation of this system. Versions activeTable: 1, nextTable: 2, incomingTable: 3";
    String actorRefs = RepeatedRefusalFilter.COMPRESSION + "ActorRefCompression";
    assertEquals(FilterReply.NEUTRAL, filter.decide(event(actorRefs, old)));
    assertEquals(FilterReply.DENY, filter.decide(event(actorRefs, old)));
    assertEquals(
        FilterReply.DENY,
        filter.decide(event(RepeatedRefusalFilter.COMPRESSION + "ManifestCompression", old)),
        "the same peer's manifests");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(actorRefs, old.replace("8957400018301901956", "-42"))),
        "another peer's");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(actorRefs, "Unknown compressed id: 7")),
        "another line of the same logger is untouched");
  }

  @Test
  void aDownedNodesFlushTimeoutsAreOneLine() {
    // a node the cluster downed, as it exits: 18 within a second in a trial
    RepeatedRefusalFilter filter = new RepeatedRefusalFilter();
    String flush = "Flush timeout, [-1] remaining";
    assertEquals(FilterReply.NEUTRAL, filter.decide(event(RepeatedRefusalFilter.FLUSH, flush)));
    assertEquals(FilterReply.DENY, filter.decide(event(RepeatedRefusalFilter.FLUSH, flush)));
    assertEquals(
        FilterReply.DENY,
        filter.decide(event(RepeatedRefusalFilter.FLUSH, "Flush timeout, [3] remaining")));
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(event(RepeatedRefusalFilter.FLUSH, "something else")),
        "another line of the same logger is untouched");
  }

  /**
   * A queue node without the sequencer's plugin: Artery's ERROR, with a stack trace, for each
   * registration offer naming the plugin's class (every 10 s): once per peer and class.
   */
  @Test
  void aMessageNamingAClassThisNodeLacksIsLoggedOncePerPeerAndClass() {
    RepeatedRefusalFilter filter = new RepeatedRefusalFilter();
    String failed =
        "Failed to deserialize message from [pekko://prover@127.0.0.1:27903] with serializer id"
            + " [25] and manifest [a].";
    java.util.function.BiFunction<String, String, LoggingEvent> error =
        (message, missing) -> {
          LoggingEvent event =
              new LoggingEvent(
                  Logger.class.getName(),
                  new LoggerContext().getLogger(RepeatedRefusalFilter.DESERIALIZER),
                  Level.ERROR,
                  message,
                  new java.io.NotSerializableException(
                      "Cannot find manifest class ["
                          + missing
                          + "] for serializer [org.apache.pekko.serialization.jackson."
                          + "JacksonCborSerializer]."),
                  null);
          return event;
        };
    String plugin = "dev.pekkoprover.example.SumOfSquaresPlugin$Parameters";
    assertEquals(FilterReply.NEUTRAL, filter.decide(error.apply(failed, plugin)));
    assertEquals(FilterReply.DENY, filter.decide(error.apply(failed, plugin)));
    assertEquals(
        FilterReply.NEUTRAL, filter.decide(error.apply(failed, "other.Type")), "another class");
    assertEquals(
        FilterReply.NEUTRAL,
        filter.decide(error.apply(failed.replace("27903", "27905"), plugin)),
        "another peer");
    LoggingEvent otherCause =
        new LoggingEvent(
            Logger.class.getName(),
            new LoggerContext().getLogger(RepeatedRefusalFilter.DESERIALIZER),
            Level.ERROR,
            failed,
            new IllegalStateException("a corrupt frame"),
            null);
    assertEquals(FilterReply.NEUTRAL, filter.decide(otherCause));
    assertEquals(FilterReply.NEUTRAL, filter.decide(otherCause), "other failures are untouched");
  }

  private static LoggingEvent event(String loggerName, String message) {
    Logger logger = new LoggerContext().getLogger(loggerName);
    return new LoggingEvent(Logger.class.getName(), logger, Level.WARN, message, null, null);
  }
}
