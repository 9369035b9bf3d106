package dev.pekkoprover.cluster;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import dev.pekkoprover.node.PeerRefusals;
import dev.pekkoprover.node.TlsEngineProvider;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Logback filter that lets through one of Pekko's WARNs about a refused peer per peer every 10
 * minutes and denies the repeats ({@link PeerRefusals}):
 *
 * <ul>
 *   <li>"Dropping Handshake Request from [pekko://other@host:port#uid] addressed to unknown local
 *       address ...": a node of a cluster with another name (another actor system name) trying to
 *       join through this node; Pekko logs it for every retried handshake message, dozens a second
 *       for as long as that node runs;
 *   <li>"[outbound connection to [pekko://...], ... stream] Upstream failed, cause:
 *       SSLHandshakeException: ...": this node's TLS connection to a peer that refuses it, or that
 *       it refuses, once per connection attempt ({@link TlsEngineProvider} says why in its own
 *       line).
 *   <li>"Outbound message stream to [pekko://...] failed. Restarting it.
 *       javax.net.ssl.SSLHandshakeException: ...": the same refusal as the association restarting
 *       its streams says it, a pair every 10 s for as long as the peer refuses (a node given
 *       another CA's certificate, in a trial). The same for "SSLException: Unrecognized SSL
 *       message": a peer that does not speak TLS ({@link TlsEngineProvider}'s line says so).
 *   <li>"Outbound message stream to [pekko://...] failed. Restarting it.
 *       java.lang.IllegalStateException: Unexpected incoming bytes in outbound connection ...", and
 *       "Quarantine of [...] ignored ... Unexpected incoming bytes": a peer that answers with bytes
 *       that are not Pekko's, such as a node's HTTP port given in {@code --seeds} (a dozen lines a
 *       minute; the waiting-to-join line names that cause).
 *   <li>"SBR took decision DownSelfQuarantinedByRemote ..." and "Other node [pekko://...#uid]
 *       quarantined this node.": a node back from a pause or a cut after the others downed it, once
 *       per message that reached a peer meanwhile; once each here (the decision, and per peer),
 *       before the node exits.
 *   <li>"Inbound message from originUid [uid] is using unknown compression table version. ...": a
 *       peer still compressing with a table of an older incarnation, once per message Pekko drops
 *       (the task protocol sends again what it carried): on a node killed and restarted on its
 *       address, for its first seconds, and on the others when a paused node the cluster downed
 *       resumes (9 and 15 lines within a second in a trial). Once per peer incarnation (uid).
 *   <li>"Flush timeout, [n] remaining": Artery's flush before a death-watch notification that a
 *       peer did not acknowledge, once per watched actor, naming no peer: a node the cluster downed
 *       logged 18 within a second of its exit (a trial), its peers having quarantined it. Once per
 *       10 minutes on any node (the line names no peer to tell them apart by).
 * </ul>
 *
 * The first line of each peer shows, so a refusal is always visible; every other warning is
 * untouched.
 */
public final class RepeatedRefusalFilter extends Filter<ILoggingEvent> {
  static final String INBOUND_HANDSHAKE = "org.apache.pekko.remote.artery.InboundHandshake";
  static final String STREAM_LOG = "org.apache.pekko.stream.Materializer";
  static final String ASSOCIATION = "org.apache.pekko.remote.artery.Association";

  private static final Pattern DROPPED =
      Pattern.compile("^Dropping Handshake Request from \\[([^#\\]]+)");
  private static final Pattern TLS_OUTBOUND =
      Pattern.compile(
          "^\\[outbound connection to \\[([^\\]]+)\\], [a-z ]+\\] Upstream failed, cause: "
              + "SSL(?:Handshake)?Exception");

  /** The same failure as the association restarting its stream says it (a pair every 10 s). */
  private static final Pattern TLS_RESTART =
      Pattern.compile(
          "^Outbound [a-z ]+ stream to \\[([^\\]]+)\\] failed\\. Restarting it\\. "
              + "javax\\.net\\.ssl\\.SSL(?:Handshake)?Exception");

  /**
   * A peer that answers with bytes that are not Pekko's (an HTTP port given as a seed): the
   * association's restart of each stream, and a quarantine it ignores, every few seconds.
   */
  private static final Pattern NOT_PEKKO =
      Pattern.compile(
          "^(?:Outbound [a-z ]+ stream to|Quarantine of) \\[([^\\]]+)\\] .*"
              + "IllegalStateException: Unexpected incoming bytes in outbound connection");

  /**
   * A node that was paused or cut off and is back after the others downed it: Pekko's split-brain
   * resolver says that it downs itself, and Artery that each peer quarantined it, a line per
   * message that reaches a peer meanwhile (18 and 15 in a second after a 30 s SIGSTOP, in a trial).
   * Once each (the decision, and per peer) says it all.
   */
  private static final Pattern SELF_QUARANTINED =
      Pattern.compile("^SBR took decision (DownSelfQuarantinedByRemote)");

  private static final Pattern QUARANTINED_BY =
      Pattern.compile("^Other node \\[([^#\\]]+)[^\\]]*\\] quarantined this node");

  /**
   * Artery's ERROR for a message from a peer that names a class this node lacks: "Failed to
   * deserialize message from [pekko://...] with serializer id [n] and manifest [m]." with a
   * NotSerializableException "Cannot find manifest class [C] ...": a node of another plugin or
   * build (a queue node without the sequencer's {@code --plugin}, sent the registration offer every
   * 10 s: 11 stack traces of 45 lines in 86 s, in a trial). Once per peer and class.
   */
  static final String DESERIALIZER = "org.apache.pekko.remote.artery.Deserializer";

  private static final Pattern UNREADABLE_FROM =
      Pattern.compile("^Failed to deserialize message from \\[([^#\\]]+)");

  private static final Pattern MISSING_CLASS =
      Pattern.compile("Cannot find manifest class \\[([^\\]]+)\\]");

  /** Artery's inbound decompression: its loggers are {@code InboundActorRefCompression} and co. */
  static final String COMPRESSION = "org.apache.pekko.remote.artery.compress.Inbound";

  private static final Pattern OLD_COMPRESSION_TABLE =
      Pattern.compile(
          "^Inbound message from originUid \\[(-?\\d+)\\] is using unknown compression table");

  static final String FLUSH = "org.apache.pekko.remote.artery.FlushBeforeDeathWatchNotification";

  static final String SPLIT_BRAIN_RESOLVER = "org.apache.pekko.cluster.sbr.SplitBrainResolver";
  static final String ARTERY = "org.apache.pekko.remote.artery.ArteryTransport";

  private final PeerRefusals refusals = new PeerRefusals(Duration.ofMinutes(10), System::nanoTime);

  @Override
  public FilterReply decide(ILoggingEvent event) {
    String logger = event.getLoggerName();
    if (logger == null
        || !(logger.startsWith(INBOUND_HANDSHAKE)
            || logger.startsWith(COMPRESSION)
            || logger.equals(FLUSH)
            || logger.equals(STREAM_LOG)
            || logger.equals(ASSOCIATION)
            || logger.equals(SPLIT_BRAIN_RESOLVER)
            || logger.equals(ARTERY)
            || logger.equals(DESERIALIZER))) {
      return FilterReply.NEUTRAL;
    }
    String message = event.getFormattedMessage();
    if (message == null) {
      return FilterReply.NEUTRAL;
    }
    if (logger.equals(DESERIALIZER)) {
      return missingClass(message, event);
    }
    if (logger.equals(FLUSH)) {
      return !message.startsWith("Flush timeout") || refusals.report("flush timeout", "") != null
          ? FilterReply.NEUTRAL
          : FilterReply.DENY;
    }
    Matcher dropped = DROPPED.matcher(message);
    Matcher outbound = TLS_OUTBOUND.matcher(message);
    Matcher restart = TLS_RESTART.matcher(message);
    Matcher notPekko = NOT_PEKKO.matcher(message);
    Matcher selfQuarantined = SELF_QUARANTINED.matcher(message);
    Matcher quarantinedBy = QUARANTINED_BY.matcher(message);
    Matcher oldTable = OLD_COMPRESSION_TABLE.matcher(message);
    String key =
        dropped.find()
            ? "dropped " + dropped.group(1)
            : outbound.find()
                ? "tls " + outbound.group(1)
                : restart.find()
                    ? "tls restart " + restart.group(1)
                    : notPekko.find()
                        ? "not pekko " + notPekko.group(1)
                        : selfQuarantined.find()
                            ? "sbr " + selfQuarantined.group(1)
                            : quarantinedBy.find()
                                ? "quarantined by " + quarantinedBy.group(1)
                                : oldTable.find()
                                    ? "old compression table " + oldTable.group(1)
                                    : null;
    if (key == null) {
      return FilterReply.NEUTRAL;
    }
    return refusals.report(key, "") == null ? FilterReply.DENY : FilterReply.NEUTRAL;
  }

  /** A message naming a class this node lacks: the first per peer and class shows. */
  private FilterReply missingClass(String message, ILoggingEvent event) {
    Matcher from = UNREADABLE_FROM.matcher(message);
    ch.qos.logback.classic.spi.IThrowableProxy cause = event.getThrowableProxy();
    Matcher missing =
        MISSING_CLASS.matcher(
            cause == null || cause.getMessage() == null ? "" : cause.getMessage());
    if (!from.find() || !missing.find()) {
      return FilterReply.NEUTRAL;
    }
    return refusals.report("class " + missing.group(1) + " from " + from.group(1), "") == null
        ? FilterReply.DENY
        : FilterReply.NEUTRAL;
  }
}
