package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.NodeProblems;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.slf4j.Logger;

/**
 * The node's TLS files, checked before they are used. Pekko's {@code RotatingKeysSSLEngineProvider}
 * re-reads {@code tls.key}, {@code tls.crt} and {@code ca.crt} on its own and uses whatever it
 * finds: a key of another node copied in during a renewal made every new connection of the node
 * fail with a bare handshake alert, and the cluster then downed the healthy nodes that could not
 * reach it (a trial: two workers downed, exit 3, while the broken node stayed). Here the files are
 * read and checked in memory by the rules of their user ({@link Use}), and only files that pass are
 * made into what that user serves connections with, kept until the next change. Files that fail
 * keep the node on the last files that passed: connections go on working, and the node says what is
 * wrong.
 *
 * <p>Two users. Artery's engines ({@link #forArtery}, {@link TlsEngineProvider}): the start-up
 * rules ({@link ClusterTls.NodeFiles#problem}: readable PEM, the certificate valid now, made for
 * the key and issued by {@code ca.crt}; and a certificate {@code keys} made for this cluster's
 * name), then an engine of Pekko's built over a private copy of exactly the bytes checked (in
 * {@code /dev/shm} where there is one; deleted once the engine has read it, milliseconds later).
 * And the HTTPS endpoints' server context ({@link #forHttps}, {@link HttpsTls}) where no Artery
 * check covers the same files ({@code run --tls}, a node without cluster TLS, the endpoints a node
 * serves while it waits for its database); on a cluster node the endpoints follow what Artery's
 * check took into use, so one check and one set of lines cover both.
 *
 * <p>Checked every {@code checkEvery} (Artery's: {@code ssl-context-cache-ttl} of Pekko's engine
 * settings, 5 s in {@code cluster.conf}; the HTTPS endpoints': 5 s) by a timer ({@link #watch}) and
 * at a connection made later than that, so a renewed certificate or a replaced CA is used from the
 * next connection after the check. A check reads the small files (a few KB) and compares their
 * bytes; only a change is parsed and checked.
 *
 * <p>Logs: one INFO line when changed files are taken into use (the certificate's subject, serial
 * and end of validity), one ERROR line when changed files fail and have failed for {@link
 * #REPORT_AFTER} (a copy in progress is no failure), again every {@link #REPEAT_EVERY} while they
 * do, and one INFO line when they pass again; the HTTPS endpoints' lines begin with {@code the
 * HTTPS endpoints:}. Thread-safe: connections are made on Artery's and Pekko HTTP's threads, the
 * timer runs on the dispatcher.
 */
final class CheckedTlsFiles<E> {

  /** How long changed files must keep failing before the ERROR line: a copy of three files. */
  static final Duration REPORT_AFTER = Duration.ofSeconds(10);

  /** How often the ERROR line comes again while the files keep failing. */
  static final Duration REPEAT_EVERY = Duration.ofMinutes(10);

  /**
   * What the node uses ({@code made}: Artery's engine, or the HTTPS endpoints' context) and the
   * bytes it was made from; {@code ca} null where there is no CA file.
   */
  record InUse<E>(E made, byte[][] bytes, X509Certificate cert, X509Certificate ca) {
    /** The certificate and the CA trusted, for the log lines. */
    String described() {
      if (cert == null) {
        return "none";
      }
      return ca == null
          ? describe(cert)
          : describe(cert)
              + "; trusts CA "
              + ca.getSubjectX500Principal().getName()
              + " (serial "
              + ca.getSerialNumber().toString(16)
              + ")";
    }
  }

  /** What a user of the files makes of them, and by which rules. */
  interface Use<E> {
    /**
     * Null when {@code bytes} (one array per file, in the order of the files) may replace those of
     * {@code current} (null at start); else one line saying why not, naming the file.
     */
    String problemOf(byte[][] bytes, InUse<E> current);

    /** What the node uses, made from {@code bytes}, which passed {@link #problemOf}. */
    InUse<E> use(byte[][] bytes) throws IOException;

    /**
     * What the node uses when its files fail at start ({@code problem}: the line); may throw
     * instead, to refuse to start.
     */
    E unusableAtStart(String problem);
  }

  private final List<Path> files;
  private final Use<E> use;
  private final String owner;

  /** At the head of the INFO lines: empty for Artery's, as before; the HTTPS endpoints' say so. */
  private final String linePrefix;

  private final LongSupplier nanoClock;
  private final Logger log;
  private final Duration checkEvery;
  private final long checkEveryNanos;

  /** Held by a check; a connection that finds it held uses what is in use. */
  private final ReentrantLock checking = new ReentrantLock();

  private volatile InUse<E> inUse;
  private volatile String problem;
  private volatile long lastCheck;
  // guarded by checking
  private boolean failing;
  private long failingSince;
  private long reportedAt;
  private boolean reported;

  /**
   * Reads and checks the files once. If they fail, the node starts on {@link Use#unusableAtStart}
   * (which may throw), with an ERROR line at once: the launcher and {@code ProverNode} refuse such
   * files before the node starts, so only files changed in the moment between make this; the next
   * check that passes replaces it.
   *
   * @param files the files read, in the order {@code use} takes them (key, certificate, CA)
   * @param owner who uses them, at the head of the problem line: {@code node host:port} (the
   *     sequencer's node passes its lines to every node's {@code /status})
   * @param checkEvery how long a check holds: a connection made later checks again
   */
  CheckedTlsFiles(
      List<Path> files,
      Use<E> use,
      String owner,
      Duration checkEvery,
      LongSupplier nanoClock,
      Logger log) {
    this.files = List.copyOf(files);
    this.use = use;
    this.owner = owner;
    this.linePrefix = owner.startsWith("node ") ? "" : owner + ": ";
    this.nanoClock = nanoClock;
    this.log = log;
    this.checkEvery = checkEvery;
    this.checkEveryNanos = checkEvery.toNanos();
    removeStaleCopies();
    lastCheck = nanoClock.getAsLong();
    byte[][] bytes = readOrNull();
    String wrong = bytes == null ? readProblem() : use.problemOf(bytes, null);
    if (wrong == null) {
      try {
        inUse = use.use(bytes);
        return;
      } catch (RuntimeException | IOException e) {
        wrong = e.getMessage();
      }
    }
    problem = owner + ": TLS files " + directory() + " cannot be used: " + wrong;
    E fallback = use.unusableAtStart(problem);
    log.error("{}; new connections will fail until the files are fixed", problem);
    reported = true;
    reportedAt = lastCheck;
    failing = true;
    failingSince = lastCheck;
    inUse = new InUse<>(fallback, new byte[0][], null, null);
  }

  /**
   * Artery's engines over the node's three files ({@link TlsEngineProvider}): the start-up rules
   * ({@link ClusterTls.NodeFiles#problem}), and a certificate {@code keys} made for this cluster's
   * name does not give way to one made for another ({@link ClusterTls#otherClusterOf}). At start
   * with failing files: Pekko's engine over the files themselves, as before this check.
   *
   * @param clusterName the node's cluster (actor system) name; null: not checked
   * @param node the node's {@code host:port}
   * @param engineConfig Pekko's {@code rotating-keys-engine} settings; an engine gets them with the
   *     files replaced by its private copy; its {@code ssl-context-cache-ttl} is the check interval
   *     (5 s when absent)
   * @param engineFactory Pekko's engine for a configuration
   */
  static CheckedTlsFiles<SSLEngineProvider> forArtery(
      ClusterTls.NodeFiles files,
      String clusterName,
      String node,
      Config engineConfig,
      Function<Config, SSLEngineProvider> engineFactory,
      LongSupplier nanoClock,
      Logger log) {
    Duration every =
        engineConfig.hasPath("ssl-context-cache-ttl")
            ? engineConfig.getDuration("ssl-context-cache-ttl")
            : Duration.ofSeconds(5);
    CheckedTlsFiles<SSLEngineProvider> checked =
        new CheckedTlsFiles<>(
            List.of(files.keyFile(), files.certFile(), files.caCertFile()),
            new ArteryEngines(files, clusterName, engineConfig, engineFactory),
            "node " + node,
            every,
            nanoClock,
            log);
    if (checked.certificate() != null) {
      log.info("TLS: {}", checked.inUse().described());
    }
    return checked;
  }

  /**
   * The HTTPS endpoints' server context over their files, as {@link HttpsIdentity#server} makes it
   * (the CA optional): the start-up rules without the one that {@code ca.crt} issued the
   * certificate ({@link ClusterTls.NodeFiles#httpsProblemOf}). Files that fail at start refuse the
   * endpoints ({@link EndpointsRefusedException}).
   */
  static CheckedTlsFiles<SSLContext> forHttps(
      HttpSettings.TlsFiles tls, Duration checkEvery, LongSupplier nanoClock, Logger log) {
    Path key = tls.keyFile().orElseThrow();
    Path cert = tls.certFile().orElseThrow();
    List<Path> files = new ArrayList<>(List.of(key, cert));
    tls.caCertFile().ifPresent(files::add);
    ClusterTls.NodeFiles named = new ClusterTls.NodeFiles(key, cert, tls.caCertFile().orElse(null));
    Use<SSLContext> https =
        new Use<>() {
          @Override
          public String problemOf(byte[][] bytes, InUse<SSLContext> current) {
            return named.httpsProblemOf(bytes[0], bytes[1], bytes.length > 2 ? bytes[2] : null);
          }

          @Override
          public InUse<SSLContext> use(byte[][] bytes) {
            byte[] ca = bytes.length > 2 ? bytes[2] : null;
            return new InUse<>(
                HttpsIdentity.server(tls, bytes[0], bytes[1], ca),
                bytes,
                ClusterTls.NodeFiles.certificateOf(cert, bytes[1]),
                ca == null ? null : ClusterTls.NodeFiles.certificateOf(named.caCertFile(), ca));
          }

          @Override
          public SSLContext unusableAtStart(String problem) {
            throw new EndpointsRefusedException(
                problem
                    + " (prover.tls.key-file, cert-file and ca-cert-file: the launcher's --tls"
                    + " directory)");
          }
        };
    return new CheckedTlsFiles<>(files, https, "the HTTPS endpoints", checkEvery, nanoClock, log);
  }

  /**
   * Checks {@code files} every {@link #checkEvery} on {@code system}'s scheduler (a check that
   * throws is logged and the next runs), names a failure in {@code /status}'s problems under {@code
   * problemPart} and, with {@code metrics}, exports {@code
   * prover_tls_certificate_expiry_timestamp_seconds} and {@code prover_tls_files_unusable} (one set
   * of files per node: a second registration of the names would get the first's gauges).
   */
  static void watch(
      CheckedTlsFiles<?> files,
      org.apache.pekko.actor.typed.ActorSystem<?> system,
      String problemPart,
      boolean metrics,
      Logger log) {
    Runnable check =
        () -> {
          try {
            files.check();
          } catch (RuntimeException e) {
            log.error(
                "{}: the check of the TLS files failed; it runs again in {}",
                files.owner,
                files.checkEvery(),
                e);
          }
        };
    system
        .scheduler()
        .scheduleWithFixedDelay(
            files.checkEvery(), files.checkEvery(), check, system.executionContext());
    NodeProblems.get(system).register(problemPart, files::problem);
    if (!metrics) {
      return;
    }
    MeterRegistry registry = ProverMetrics.get(system).registry();
    Gauge.builder(
            "prover.tls.certificate.expiry.timestamp.seconds",
            files,
            f ->
                f.certificate() == null
                    ? Double.NaN
                    : f.certificate().getNotAfter().getTime() / 1e3)
        .description(
            "end of validity of the TLS certificate this node uses for new connections, in Unix"
                + " seconds")
        .register(registry);
    Gauge.builder("prover.tls.files.unusable", files, f -> f.problem() == null ? 0 : 1)
        .description(
            "1 while the TLS files on disk changed and fail the check (the node goes on with the"
                + " files read before), else 0")
        .register(registry);
  }

  /** What a new connection uses, after a check if the last is older than the interval. */
  E engine() {
    if (nanoClock.getAsLong() - lastCheck >= checkEveryNanos && checking.tryLock()) {
      try {
        checkHeld();
      } finally {
        checking.unlock();
      }
    }
    return inUse.made();
  }

  /** What is in use, without a check (for a session's verification). */
  E current() {
    return inUse.made();
  }

  /**
   * What is in use and the bytes it was made from (none, while the files have not passed since
   * start): another user of the same files follows them ({@link HttpsTls}).
   */
  InUse<E> inUse() {
    return inUse;
  }

  /** The files, in the order read (key, certificate, CA). */
  List<Path> files() {
    return files;
  }

  /** How long a check holds. */
  Duration checkEvery() {
    return checkEvery;
  }

  /** The certificate in use, null before files passed a check. */
  X509Certificate certificate() {
    return inUse.cert();
  }

  /**
   * What is wrong with the files on disk, once they have failed for {@link #REPORT_AFTER} (as the
   * ERROR line); null while they are the ones in use, pass, or have failed for less.
   */
  String problem() {
    return problem;
  }

  /**
   * Reads the files; if they changed, checks them, and uses them if they pass. Called by the timer
   * and by {@link #engine}.
   */
  void check() {
    checking.lock();
    try {
      checkHeld();
    } finally {
      checking.unlock();
    }
  }

  private void checkHeld() {
    long now = nanoClock.getAsLong();
    lastCheck = now;
    byte[][] bytes = readOrNull();
    if (bytes != null && Arrays.deepEquals(bytes, inUse.bytes())) {
      passed();
      return;
    }
    String wrong = bytes == null ? readProblem() : use.problemOf(bytes, inUse);
    if (wrong == null) {
      try {
        InUse<E> next = use.use(bytes);
        inUse = next;
        boolean wasReported = reported && problem != null;
        failing = false;
        problem = null;
        reported = false;
        log.info(
            "{}TLS files changed: new connections use them now{}: {}",
            linePrefix,
            wasReported ? " (the files are usable again)" : "",
            next.described());
        return;
      } catch (RuntimeException | IOException e) {
        wrong = e.getMessage();
      }
    }
    failed(wrong, now);
  }

  private void passed() {
    failing = false;
    if (problem != null) {
      problem = null;
      if (reported) {
        log.info("{}TLS files usable again: {}", linePrefix, inUse.described());
      }
    }
    reported = false;
  }

  private void failed(String wrong, long now) {
    String line = owner + ": TLS files " + directory() + " changed and cannot be used: " + wrong;
    if (!failing) {
      failing = true;
      failingSince = now;
      return; // perhaps a copy in progress: said if it lasts
    }
    if (reported) {
      problem = line; // what is wrong may have changed
    }
    boolean due =
        !reported
            ? now - failingSince >= REPORT_AFTER.toNanos()
            : now - reportedAt >= REPEAT_EVERY.toNanos();
    if (due) {
      problem = line;
      reported = true;
      reportedAt = now;
      String kept =
          inUse.cert() == null
              ? "new connections fail until they are fixed"
              : "new connections go on with the files read before ("
                  + describe(inUse.cert())
                  + ") until they are fixed; connections up stay up";
      log.error("{}; {}", line, kept);
    }
  }

  private String directory() {
    Path cert = files.get(1);
    Path dir = cert.toAbsolutePath().getParent();
    return dir == null ? cert.toString() : dir.toString();
  }

  /** The files' bytes, in order, or null if one cannot be read now. */
  private byte[][] readOrNull() {
    try {
      byte[][] bytes = new byte[files.size()][];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = Files.readAllBytes(files.get(i));
      }
      return bytes;
    } catch (IOException e) {
      return null;
    }
  }

  /** Names the missing or unreadable file. */
  private String readProblem() {
    for (Path file : files) {
      if (!Files.exists(file)) {
        return "TLS file " + file + " does not exist";
      }
      if (!Files.isReadable(file)) {
        return "TLS file " + file + " is not readable by this user";
      }
    }
    return "a TLS file could not be read (being replaced?)";
  }

  /** Artery's engines ({@link #forArtery}). */
  private static final class ArteryEngines implements Use<SSLEngineProvider> {
    private final ClusterTls.NodeFiles files;
    private final String clusterName;
    private final Config engineConfig;
    private final Function<Config, SSLEngineProvider> engineFactory;

    ArteryEngines(
        ClusterTls.NodeFiles files,
        String clusterName,
        Config engineConfig,
        Function<Config, SSLEngineProvider> engineFactory) {
      this.files = files;
      this.clusterName = clusterName;
      this.engineConfig = engineConfig;
      this.engineFactory = engineFactory;
    }

    /**
     * Null when the bytes, as the node's three files, pass {@link ClusterTls.NodeFiles#problemOf}
     * (checked in memory) and, if the certificate in use names this node's cluster, name it too.
     */
    @Override
    public String problemOf(byte[][] bytes, InUse<SSLEngineProvider> current) {
      String wrong = files.problemOf(bytes[0], bytes[1], bytes[2]);
      if (wrong == null
          && clusterName != null
          && current != null
          && current.cert() != null
          && ClusterTls.otherClusterOf(current.cert(), clusterName) == null) {
        // a change away from this cluster's name; a node that started with another's (the
        // launcher's WARN) works with its peers of that name and is judged by the rest only
        wrong =
            ClusterTls.otherClusterOf(
                ClusterTls.NodeFiles.certificateOf(files.certFile(), bytes[1]), clusterName);
      }
      return wrong;
    }

    /**
     * Pekko's engine over a private copy of {@code bytes} (its loader reads files only), made to
     * read it now and keep it; the copy is deleted before this returns.
     */
    @Override
    public InUse<SSLEngineProvider> use(byte[][] bytes) throws IOException {
      Path copy = privateCopy(bytes);
      try {
        return engineOver(copy, bytes);
      } catch (RuntimeException e) {
        throw new IOException("Pekko's TLS engine could not use them: " + e.getMessage(), e);
      } finally {
        deleteQuietly(copy);
      }
    }

    /** Pekko's engine over the copy, made to read it now and keep it. */
    private InUse<SSLEngineProvider> engineOver(Path copy, byte[][] bytes) {
      ClusterTls.NodeFiles copied = ClusterTls.NodeFiles.inDirectory(copy);
      Config config =
          engineConfig
              .withValue("key-file", ConfigValueFactory.fromAnyRef(copied.keyFile().toString()))
              .withValue("cert-file", ConfigValueFactory.fromAnyRef(copied.certFile().toString()))
              .withValue(
                  "ca-cert-file", ConfigValueFactory.fromAnyRef(copied.caCertFile().toString()))
              // the copy is deleted below: the engine must never read the files again
              .withValue("ssl-context-cache-ttl", ConfigValueFactory.fromAnyRef("36500d"))
              .withFallback(ConfigFactory.empty());
      SSLEngineProvider engine = engineFactory.apply(config);
      engine.createClientSSLEngine("127.0.0.1", 0); // reads the copy now
      return new InUse<>(
          engine,
          bytes,
          ClusterTls.NodeFiles.certificateOf(files.certFile(), bytes[1]),
          ClusterTls.NodeFiles.certificateOf(files.caCertFile(), bytes[2]));
    }

    /** Pekko's engine over the files themselves, as before this check. */
    @Override
    public SSLEngineProvider unusableAtStart(String problem) {
      return engineFactory.apply(engineConfig);
    }
  }

  /** Prefix of the private copies' directories. */
  private static final String COPY_PREFIX = "prover-tls-";

  /**
   * Where the private copies go: {@code /dev/shm} (memory, never a disk) where it is writable, else
   * the JVM's temporary directory.
   */
  private static Path copyRoot() {
    Path shm = Path.of("/dev/shm");
    if (Files.isDirectory(shm) && Files.isWritable(shm)) {
      return shm;
    }
    return Path.of(System.getProperty("java.io.tmpdir"));
  }

  /**
   * A directory only this user may read, holding {@code bytes} as tls.key, tls.crt, ca.crt; deleted
   * again if a write fails.
   */
  private static Path privateCopy(byte[][] bytes) throws IOException {
    Path dir;
    try {
      dir =
          Files.createTempDirectory(
              copyRoot(),
              COPY_PREFIX,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException notPosix) {
      dir = Files.createTempDirectory(copyRoot(), COPY_PREFIX);
    }
    try {
      ClusterTls.NodeFiles copy = ClusterTls.NodeFiles.inDirectory(dir);
      Files.write(copy.keyFile(), bytes[0]);
      Files.write(copy.certFile(), bytes[1]);
      Files.write(copy.caCertFile(), bytes[2]);
      return dir;
    } catch (IOException | RuntimeException e) {
      deleteQuietly(dir);
      throw e;
    }
  }

  /**
   * Copies left by a process of this user killed in the milliseconds a copy lives: this user's,
   * older than a minute (another node on this host may be making one now).
   */
  private static void removeStaleCopies() {
    long before = System.currentTimeMillis() - 60_000;
    try (Stream<Path> dirs = Files.list(copyRoot())) {
      String me = System.getProperty("user.name");
      dirs.filter(dir -> dir.getFileName().toString().startsWith(COPY_PREFIX))
          .filter(
              dir -> {
                try {
                  return Files.getOwner(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                      .getName()
                      .equals(me);
                } catch (IOException | UnsupportedOperationException e) {
                  return false;
                }
              })
          .filter(
              dir -> {
                try {
                  return Files.getLastModifiedTime(dir).toMillis() < before;
                } catch (IOException e) {
                  return false;
                }
              })
          .forEach(CheckedTlsFiles::deleteQuietly);
    } catch (IOException | RuntimeException ignored) {
      // nothing to clean, or not ours to clean
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException ignored) {
      // a temporary directory only this user can read: left to the system's clean-up
    }
  }

  /** "certificate CN=..., serial 1f2e, valid until 2027-12-07T08:00:00Z". */
  static String describe(X509Certificate cert) {
    if (cert == null) {
      return "none";
    }
    return "certificate "
        + cert.getSubjectX500Principal().getName()
        + ", serial "
        + cert.getSerialNumber().toString(16)
        + ", valid until "
        + Instant.ofEpochMilli(cert.getNotAfter().getTime());
  }
}
