package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.slf4j.Logger;

/**
 * The node's TLS files, checked before Pekko's engine may use them. Pekko's {@code
 * RotatingKeysSSLEngineProvider} re-reads {@code tls.key}, {@code tls.crt} and {@code ca.crt} on
 * its own and uses whatever it finds: a key of another node copied in during a renewal made every
 * new connection of the node fail with a bare handshake alert, and the cluster then downed the
 * healthy nodes that could not reach it (a trial: two workers downed, exit 3, while the broken node
 * stayed). Here the files are read, checked as at start-up ({@link ClusterTls.NodeFiles#problem}:
 * readable PEM, the certificate valid now, made for the key and issued by {@code ca.crt}; and a
 * certificate {@code keys} made for this cluster's name), in memory, and only files that pass go to
 * an engine of Pekko's, built over a private copy of exactly the bytes checked (in {@code /dev/shm}
 * where there is one; deleted once the engine has read it, milliseconds later) and kept until the
 * next change. Files that fail keep the node on the last files that passed: connections go on
 * working, and the node says what is wrong.
 *
 * <p>Checked every {@code checkEvery} ({@code ssl-context-cache-ttl} of Pekko's engine settings, 5
 * s in {@code cluster.conf}) by a timer and at a connection made later than that, so a renewed
 * certificate or a replaced CA is used from the next connection after the check, not up to a minute
 * later. A check reads three small files (a few KB) and compares their bytes; only a change is
 * parsed and checked.
 *
 * <p>Logs: one INFO line when changed files are taken into use (the certificate's subject, serial
 * and end of validity), one ERROR line when changed files fail and have failed for {@link
 * #REPORT_AFTER} (a copy in progress is no failure), again every {@link #REPEAT_EVERY} while they
 * do, and one INFO line when they pass again. Thread-safe: engines are made on Artery's threads,
 * the timer runs on the dispatcher.
 */
final class CheckedTlsFiles {

  /** How long changed files must keep failing before the ERROR line: a copy of three files. */
  static final Duration REPORT_AFTER = Duration.ofSeconds(10);

  /** How often the ERROR line comes again while the files keep failing. */
  static final Duration REPEAT_EVERY = Duration.ofMinutes(10);

  /** What the node uses: the engine and what it was built from. */
  record InUse(SSLEngineProvider engine, byte[][] bytes, X509Certificate cert, X509Certificate ca) {
    /** The certificate and the CA trusted, for the log lines. */
    String described() {
      return cert == null
          ? "none"
          : describe(cert)
              + "; trusts CA "
              + ca.getSubjectX500Principal().getName()
              + " (serial "
              + ca.getSerialNumber().toString(16)
              + ")";
    }
  }

  private final ClusterTls.NodeFiles files;
  private final String clusterName;
  private final String node;
  private final Config engineConfig;
  private final Function<Config, SSLEngineProvider> engineFactory;
  private final LongSupplier nanoClock;
  private final Logger log;
  private final long checkEveryNanos;

  /** Held by a check; a connection that finds it held uses the engine in use. */
  private final ReentrantLock checking = new ReentrantLock();

  private volatile InUse inUse;
  private volatile String problem;
  private volatile long lastCheck;
  // guarded by checking
  private boolean failing;
  private long failingSince;
  private long reportedAt;
  private boolean reported;

  /**
   * Reads and checks the files once. If they fail, the node starts on Pekko's engine over the files
   * themselves, as it did before this check, with an ERROR line at once: the launcher and {@code
   * ProverNode} refuse such files before the node starts, so only files changed in the moment
   * between makes this; the next check that passes replaces that engine.
   *
   * @param clusterName the node's cluster (actor system) name: changed files whose certificate
   *     {@code keys} made for another are refused ({@link ClusterTls#otherClusterOf}) while the one
   *     in use names this one; null: not checked
   * @param node the node's {@code host:port}, at the head of its problem line (the sequencer's node
   *     passes its lines to every node's {@code /status})
   * @param engineConfig Pekko's {@code rotating-keys-engine} settings; an engine gets them with the
   *     files replaced by its private copy
   * @param engineFactory Pekko's engine for a configuration
   */
  CheckedTlsFiles(
      ClusterTls.NodeFiles files,
      String clusterName,
      String node,
      Config engineConfig,
      Function<Config, SSLEngineProvider> engineFactory,
      LongSupplier nanoClock,
      Logger log) {
    this.files = files;
    this.clusterName = clusterName;
    this.node = node;
    this.engineConfig = engineConfig;
    this.engineFactory = engineFactory;
    this.nanoClock = nanoClock;
    this.log = log;
    this.checkEveryNanos =
        (engineConfig.hasPath("ssl-context-cache-ttl")
                ? engineConfig.getDuration("ssl-context-cache-ttl")
                : Duration.ofSeconds(5))
            .toNanos();
    removeStaleCopies();
    lastCheck = nanoClock.getAsLong();
    byte[][] bytes = readOrNull();
    String wrong = bytes == null ? readProblem() : checked(bytes);
    if (wrong == null) {
      try {
        inUse = engineOver(bytes);
        log.info("TLS: {}", inUse.described());
        return;
      } catch (RuntimeException | IOException e) {
        wrong = "Pekko's TLS engine could not use the files: " + e.getMessage();
      }
    }
    problem = "node " + node + ": TLS files " + directory() + " cannot be used: " + wrong;
    log.error("{}; new connections will fail until the files are fixed", problem);
    reported = true;
    reportedAt = lastCheck;
    failing = true;
    failingSince = lastCheck;
    inUse = new InUse(engineFactory.apply(engineConfig), new byte[0][], null, null);
  }

  /** The engine for a new connection, after a check if the last is older than the interval. */
  SSLEngineProvider engine() {
    if (nanoClock.getAsLong() - lastCheck >= checkEveryNanos && checking.tryLock()) {
      try {
        checkHeld();
      } finally {
        checking.unlock();
      }
    }
    return inUse.engine();
  }

  /** The engine in use, without a check (for a session's verification). */
  SSLEngineProvider current() {
    return inUse.engine();
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
    String wrong = bytes == null ? readProblem() : checked(bytes);
    if (wrong == null) {
      try {
        InUse next = engineOver(bytes);
        inUse = next;
        passed();
        log.info("TLS files changed: new connections use them now: {}", next.described());
        return;
      } catch (RuntimeException | IOException e) {
        wrong = "Pekko's TLS engine could not use them: " + e.getMessage();
      }
    }
    failed(wrong, now);
  }

  private void passed() {
    failing = false;
    if (problem != null) {
      problem = null;
      if (reported) {
        log.info("TLS files usable again: {}", inUse.described());
      }
    }
    reported = false;
  }

  private void failed(String wrong, long now) {
    String line =
        "node " + node + ": TLS files " + directory() + " changed and cannot be used: " + wrong;
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
    Path dir = files.certFile().toAbsolutePath().getParent();
    return dir == null ? files.certFile().toString() : dir.toString();
  }

  /**
   * Null when the bytes, as the node's three files, pass {@link ClusterTls.NodeFiles#problemOf}
   * (checked in memory) and name this node's cluster; else the line.
   */
  private String checked(byte[][] bytes) {
    String wrong = files.problemOf(bytes[0], bytes[1], bytes[2]);
    InUse current = inUse;
    if (wrong == null
        && clusterName != null
        && current != null
        && current.cert() != null
        && ClusterTls.otherClusterOf(current.cert(), clusterName) == null) {
      // a change away from this cluster's name; a node that started with another's (the
      // launcher's WARN) works with its peers of that name and is judged by the rest only
      wrong = ClusterTls.otherClusterOf(certificateOf(files.certFile(), bytes[1]), clusterName);
    }
    return wrong;
  }

  /**
   * Pekko's engine over a private copy of {@code bytes} (its loader reads files only), made to read
   * it now and keep it; the copy is deleted before this returns.
   */
  private static X509Certificate certificateOf(Path file, byte[] pem) {
    return ClusterTls.NodeFiles.certificateOf(file, pem);
  }

  private InUse engineOver(byte[][] bytes) throws IOException {
    Path copy = privateCopy(bytes);
    try {
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
      return new InUse(
          engine,
          bytes,
          certificateOf(files.certFile(), bytes[1]),
          certificateOf(files.caCertFile(), bytes[2]));
    } finally {
      deleteQuietly(copy);
    }
  }

  /** The three files' bytes (key, certificate, CA), or null if one cannot be read now. */
  private byte[][] readOrNull() {
    try {
      return new byte[][] {
        Files.readAllBytes(files.keyFile()),
        Files.readAllBytes(files.certFile()),
        Files.readAllBytes(files.caCertFile())
      };
    } catch (IOException e) {
      return null;
    }
  }

  private String readProblem() {
    String wrong = files.problem(); // names the missing or unreadable file
    return wrong != null ? wrong : "a TLS file could not be read (being replaced?)";
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
