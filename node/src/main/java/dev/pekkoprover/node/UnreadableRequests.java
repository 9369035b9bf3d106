package dev.pekkoprover.node;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.DefaultParsingErrorHandler$;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node's HTTP server answers and logs for bytes it cannot read as an HTTP request (Pekko
 * HTTP's {@code pekko.http.server.parsing.error-handler}, set on the node's server only by {@link
 * NodeEndpoints#bind}). The answer is Pekko HTTP's own (the status, e.g. 400, with the parser's
 * summary); the log is not: Pekko HTTP's default writes a WARN per request, with the raw bytes and,
 * for a Pekko node's transport bytes, the misleading remedy "increase max-method-length". A node
 * whose {@code --seeds} names this node's HTTP port retries its connection every 1-5 s, so that was
 * a dozen WARN lines a minute naming neither the cause nor the remedy.
 *
 * <p>Only an unsupported "method" that is a cluster node's or a TLS client's bytes, and bytes that
 * start no HTTP request at all (a newline from {@code echo | openssl s_client}, an operator's
 * certificate check: a WARN per check, in a trial), are handled here; an HTTP client's malformed
 * request goes to Pekko's default handler, line and all. Here the first such request logs one WARN
 * line with what was wrong (control bytes shown as {@code .}) and its likely cause: a Pekko cluster
 * node's bytes ({@code AKKA}, Artery's framing magic) or a TLS handshake (first byte {@code 0x16})
 * mean a node given this node's {@code --http-port} as a seed, or an HTTPS client on a plain-HTTP
 * port. Those that follow within {@link #LOG_EVERY} are counted, and the first after it logs one
 * line with the count since the line before. So at most one line a minute per JVM, however many
 * connections. The client's address is not known here (Pekko HTTP gives the handler the parse error
 * only).
 *
 * <p>Pekko HTTP creates one instance per connection by reflection (hence the public no-argument
 * constructor); the count is shared by all of them.
 */
public final class UnreadableRequests extends ParsingErrorHandler {
  /** At most one log line per this interval, with the count of those in between. */
  static final Duration LOG_EVERY = Duration.ofMinutes(1);

  private static final Logger LOG = LoggerFactory.getLogger(UnreadableRequests.class);
  private static final Tally TALLY = new Tally(LOG_EVERY, System::nanoTime);

  /** Created by Pekko HTTP for each connection. */
  public UnreadableRequests() {}

  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    String what = describe(info);
    if (likelyCause(what) == null) { // an HTTP client's malformed request: Pekko's own line
      return DefaultParsingErrorHandler$.MODULE$.handle(status, info, log, settings);
    }
    TALLY.record(status.toString(), what).ifPresent(LOG::warn);
    String body = settings.verboseErrorMessages() ? info.formatPretty() : info.summary();
    return HttpResponse.create().withStatus(status).withEntity(printable(body, 400));
  }

  /** How many unreadable requests the node's servers in this JVM have answered since it started. */
  static long answered() {
    return TALLY.total.get();
  }

  static String describe(ErrorInfo info) {
    String detail = info.detail() == null || info.detail().isEmpty() ? "" : ": " + info.detail();
    return describe(info.summary() + detail);
  }

  /**
   * The parser's message, printable, without its remedy for a too long method when the "method" is
   * a cluster node's transport bytes (a longer method would not make them HTTP).
   */
  static String describe(String parserMessage) {
    String text = parserMessage;
    int remedy = text.indexOf(" Increase `pekko.http.server.parsing.max-method-length`");
    if (remedy > 0 && (text.contains("AKKA") || text.contains("PEKK"))) {
      text = text.substring(0, remedy);
    }
    return printable(text, 160);
  }

  /**
   * {@code text} with every character outside printable ASCII as {@code .} (a binary client's bytes
   * would otherwise land in the log as control characters), cut at {@code max} characters.
   */
  static String printable(String text, int max) {
    StringBuilder out = new StringBuilder(Math.min(text.length(), max + 3));
    for (int i = 0; i < text.length() && i < max; i++) {
      char c = text.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? c : '.');
    }
    return text.length() > max ? out.append("...").toString() : out.toString();
  }

  /**
   * The likely cause of a parse error from bytes that are not HTTP, from what the parser saw; null
   * for an HTTP client's malformed request (a too long URI, too many headers, ...), which Pekko's
   * default handler logs as before. A Pekko node's transport starts with its magic {@code AKKA} (or
   * {@code PEKK}): as a method too long (400), or, with a blank among its first bytes, an
   * unsupported one (501).
   */
  static String likelyCause(String what) {
    if (what.startsWith("Illegal HTTP message start")) {
      // no HTTP client starts so; a newline is what a certificate check piped from echo sends
      return "the connection ended before an HTTP request began: a check of this port's"
          + " certificate such as `echo | openssl s_client` (which sends a newline; `</dev/null`"
          + " sends nothing), a client of another protocol, or an HTTP client cut off before it"
          + " sent its request";
    }
    if (!what.startsWith("Unsupported HTTP method")) {
      return null;
    }
    if (what.contains("AKKA") || what.contains("PEKK")) {
      return "these are a Pekko cluster node's transport bytes: a node's --seeds names this node's"
          + " --http-port; a seed must be a node's cluster --port";
    }
    if (what.contains("0x16")) {
      return "this is a TLS handshake on this plain-HTTP port: a node started with --tls whose"
          + " --seeds names this node's --http-port (a seed must be a node's cluster --port), or a"
          + " client given https:// where this node serves http:// (--http-tls not given)";
    }
    return null;
  }

  /**
   * Counts unreadable requests and says when a line is due: the first at once, then at most one per
   * interval, each with the count since the line before. Thread-safe.
   */
  static final class Tally {
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    final AtomicLong total = new AtomicLong();
    private long sinceLine;
    private long lastLineNanos;
    private boolean logged;

    Tally(Duration interval, LongSupplier nanoTime) {
      this.intervalNanos = interval.toNanos();
      this.nanoTime = nanoTime;
    }

    /** Counts one answered {@code status}; the log line if one is due. */
    synchronized Optional<String> record(String status, String what) {
      total.incrementAndGet();
      sinceLine++;
      long now = nanoTime.getAsLong();
      if (logged && now - lastLineNanos < intervalNanos) {
        return Optional.empty();
      }
      String line =
          logged
              ? String.format(
                  "HTTP endpoints answered %d more request(s) that are not HTTP in the last %d s"
                      + " (the last: %s, %s); likely cause: %s",
                  sinceLine,
                  Duration.ofNanos(now - lastLineNanos).toSeconds(),
                  status,
                  what,
                  likelyCause(what))
              : String.format(
                  "HTTP endpoints answered %s to a request that is not HTTP (%s); likely cause: %s."
                      + " More of them are counted and said at most once a minute",
                  status, what, likelyCause(what));
      logged = true;
      lastLineNanos = now;
      sinceLine = 0;
      return Optional.of(line);
    }
  }
}
