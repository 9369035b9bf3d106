package dev.pekkoprover.node;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTPS endpoints' server context for each new connection, renewed when the node's TLS files
 * change, so that a renewed certificate is served without a restart (before, the endpoints read the
 * files once, at start, and a node had to be restarted, a drain, to serve a renewed one).
 *
 * <p>On a cluster node whose Artery runs over the same three files ({@code --tls} with {@code
 * --http-tls}), the endpoints follow what Artery's check took into use ({@link TlsEngineProvider},
 * {@link CheckedTlsFiles}): one check every 5 s, one set of log lines, and the endpoints never
 * serve files the cluster refused. Elsewhere ({@code run --tls}, or files of their own) they check
 * their files themselves ({@link CheckedTlsFiles#forHttps}), every {@link #CHECK_EVERY} and at a
 * connection made later, with the same lines, {@code /status} problem and metrics. Thread-safe.
 */
final class HttpsTls {
  private static final Logger log = LoggerFactory.getLogger(HttpsTls.class);

  /** How long an own check holds: as Artery's in {@code cluster.conf}. */
  static final Duration CHECK_EVERY = Duration.ofSeconds(5);

  /** The name of the own check's line in {@code /status}'s problems. */
  static final String PROBLEM_PART = "https-tls-files";

  /** Where Artery's check of a node's files is found ({@link TlsEngineProvider} sets it). */
  static final class ArteryFiles implements Extension {
    /** The extension's id. */
    static final class Id extends ExtensionId<ArteryFiles> {
      static final Id INSTANCE = new Id();

      private Id() {}

      @Override
      public ArteryFiles createExtension(ActorSystem<?> system) {
        return new ArteryFiles();
      }
    }

    static ArteryFiles get(ActorSystem<?> system) {
      return Id.INSTANCE.apply(system);
    }

    private volatile CheckedTlsFiles<SSLEngineProvider> files;

    void set(CheckedTlsFiles<SSLEngineProvider> files) {
      this.files = files;
    }

    Optional<CheckedTlsFiles<SSLEngineProvider>> files() {
      return Optional.ofNullable(files);
    }
  }

  private final HttpSettings.TlsFiles files;
  private final CheckedTlsFiles<SSLContext> own;
  private volatile CheckedTlsFiles<SSLEngineProvider> followed;
  // what was made from the followed check's bytes; replaced together, under this
  private byte[][] followedBytes;
  private SSLContext followedContext;

  private HttpsTls(HttpSettings.TlsFiles files, CheckedTlsFiles<SSLContext> own) {
    this.files = files;
    this.own = own;
  }

  /**
   * Reads and checks the files once.
   *
   * @throws EndpointsRefusedException naming the file and what is wrong with it
   */
  static HttpsTls prepare(HttpSettings.TlsFiles files) {
    return prepare(files, System::nanoTime);
  }

  /** {@link #prepare(HttpSettings.TlsFiles)} on a clock of nanoseconds (a test's). */
  static HttpsTls prepare(HttpSettings.TlsFiles files, LongSupplier nanoClock) {
    return new HttpsTls(files, CheckedTlsFiles.forHttps(files, CHECK_EVERY, nanoClock, log));
  }

  /**
   * Once {@code system} runs: follows Artery's check if it covers the same files, else checks its
   * own every {@link #CHECK_EVERY} and exports them ({@link CheckedTlsFiles#watch}).
   */
  void attach(ActorSystem<?> system) {
    Optional<CheckedTlsFiles<SSLEngineProvider>> artery = ArteryFiles.get(system).files();
    if (artery.isPresent() && sameFiles(artery.get(), own)) {
      synchronized (this) {
        followedBytes = artery.get().inUse().bytes();
        followedContext =
            Arrays.deepEquals(followedBytes, own.inUse().bytes()) ? own.current() : null;
      }
      followed = artery.get();
    } else {
      // other files than Artery's (set apart in Pekko's engine settings): the metrics' names are
      // Artery's there, so the endpoints' files are watched and named in /status only
      CheckedTlsFiles.watch(own, system, PROBLEM_PART, artery.isEmpty(), log);
    }
  }

  private static boolean sameFiles(CheckedTlsFiles<?> a, CheckedTlsFiles<?> b) {
    return a.files().stream()
        .map(HttpsTls::real)
        .toList()
        .equals(b.files().stream().map(HttpsTls::real).toList());
  }

  /** The file a path names, through links; the path as given if it cannot be resolved now. */
  private static Path real(Path file) {
    try {
      return file.toRealPath();
    } catch (IOException | RuntimeException e) {
      return file.toAbsolutePath().normalize();
    }
  }

  /** Whether the endpoints follow Artery's check (for tests). */
  boolean followsArtery() {
    return followed != null;
  }

  /** The context for a new connection. */
  SSLContext context() {
    CheckedTlsFiles<SSLEngineProvider> artery = followed;
    if (artery == null) {
      return own.engine();
    }
    synchronized (this) {
      byte[][] bytes = artery.inUse().bytes(); // read here: an older read never replaces a newer
      if (bytes != followedBytes || followedContext == null) {
        if (bytes.length == 0) {
          followedContext = own.current(); // Artery started on files that failed: what we read
        } else {
          try {
            followedContext =
                HttpsIdentity.server(
                    files, bytes[0], bytes[1], files.caCertFile().isPresent() ? bytes[2] : null);
          } catch (RuntimeException e) {
            // the files passed Artery's stricter check: not expected; keep what was served
            log.error(
                "HTTPS endpoints: the TLS files the cluster connections use now cannot serve"
                    + " HTTPS, which goes on with the files read before: {}",
                e.getMessage());
            if (followedContext == null) {
              followedContext = own.current();
            }
          }
        }
        followedBytes = bytes;
      }
      return followedContext;
    }
  }
}
