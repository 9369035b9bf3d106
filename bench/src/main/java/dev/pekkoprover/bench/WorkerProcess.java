package dev.pekkoprover.bench;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A running worker node process of the cross-process deployment ({@link ClusterDeployment}): its
 * output lines, its address and Ready time, and how to stop it; and how to start one ({@link
 * #launch}) from this JVM's class path and flags. A shutdown hook kills any still running when the
 * harness exits.
 */
final class WorkerProcess implements AutoCloseable {
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final AtomicInteger STARTED = new AtomicInteger();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "kill-workers"));
  }

  private final Process process;
  private final String nodeId;
  private final List<String> workerIds;
  private final long launchedNanos;
  private final long launchedMicros;
  private final CompletableFuture<String> address = new CompletableFuture<>();
  private final CompletableFuture<String> echoPath = new CompletableFuture<>();
  private final CompletableFuture<Long> upMicros = new CompletableFuture<>();
  private final CompletableFuture<Long> readyMicros = new CompletableFuture<>();
  private final CompletableFuture<Boolean> metrics = new CompletableFuture<>();
  private final CompletableFuture<Long> leftMicros = new CompletableFuture<>();

  WorkerProcess(
      Process process,
      String nodeId,
      List<String> workerIds,
      long launchedNanos,
      long launchedMicros) {
    this.process = process;
    this.nodeId = nodeId;
    this.workerIds = List.copyOf(workerIds);
    this.launchedNanos = launchedNanos;
    this.launchedMicros = launchedMicros;
    Thread reader = new Thread(this::readOutput, "worker-out-" + nodeId);
    reader.setDaemon(true);
    reader.start();
  }

  private void readOutput() {
    try (BufferedReader out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null; line = out.readLine()) {
        if (line.startsWith("NODE ")) {
          address.complete(line.substring(5).trim());
        } else if (line.startsWith("ECHO ")) {
          echoPath.complete(line.substring(5).trim());
        } else if (line.startsWith("UP ")) {
          upMicros.complete(Long.parseLong(line.substring(3).trim()));
        } else if (line.startsWith("METRICS ")) {
          metrics.complete(line.substring(8).trim().equals("on"));
        } else if (line.startsWith("READY ")) {
          readyMicros.complete(Long.parseLong(line.substring(6).trim()));
        } else if (line.startsWith("LEFT ")) {
          leftMicros.complete(Long.parseLong(line.substring(5).trim()));
        } else {
          System.err.println("[" + nodeId + "] " + line);
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // the process went away
    }
    IllegalStateException gone =
        new IllegalStateException(
            "worker process "
                + nodeId
                + " ended (exit "
                + (process.isAlive() ? "?" : String.valueOf(process.exitValue()))
                + ")");
    address.completeExceptionally(gone);
    echoPath.completeExceptionally(gone);
    upMicros.completeExceptionally(gone);
    readyMicros.completeExceptionally(gone);
    metrics.completeExceptionally(gone);
    leftMicros.completeExceptionally(gone);
  }

  /**
   * Whether the worker process's metrics are on ({@code prover.metrics.enabled}, as its node has
   * it).
   */
  boolean metricsEnabled(long seconds) {
    return Harness.await(metrics, seconds);
  }

  /** Waits for the READY line; returns its wall clock in microseconds since the epoch. */
  long awaitReady(long seconds) {
    return Harness.await(readyMicros, seconds);
  }

  /** When it saw itself Up (wall clock, microseconds since the epoch). */
  long seenUpMicros(long seconds) {
    return Harness.await(upMicros, seconds);
  }

  /** Its cluster address, as its member's {@code address().toString()}. */
  String address(long seconds) {
    return Harness.await(address, seconds);
  }

  /**
   * The serialized ref of its bare echo actor ({@link BareRoundTrip#echo}), to resolve with {@code
   * ActorRefResolver}.
   */
  String echoPath(long seconds) {
    return Harness.await(echoPath, seconds);
  }

  List<String> workerIds() {
    return workerIds;
  }

  long launchedNanos() {
    return launchedNanos;
  }

  long launchedMicros() {
    return launchedMicros;
  }

  long pid() {
    return process.pid();
  }

  /**
   * Closes its stdin (it leaves the cluster and exits); kills it if it is still there 15 s later,
   * or {@link #AFTER_LEFT} after it said it left the cluster ({@code LEFT}, printed as its actor
   * system begins to terminate). Pekko 1.7's Artery can wait without a deadline for a remoting
   * stream to end while the actor system terminates (the node's {@code Termination} says more); a
   * node that has left has nothing more to do, so the harness does not wait for that.
   */
  @Override
  public void close() {
    try {
      process.getOutputStream().close();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      boolean left = false;
      try {
        leftMicros.get(15, TimeUnit.SECONDS);
        left = true;
      } catch (TimeoutException | ExecutionException e) {
        // not said within 15 s, or the process ended without saying it
      }
      long rest = Math.max(0, deadline - System.nanoTime());
      if (!process.waitFor(
          left ? Math.min(rest, AFTER_LEFT.toNanos()) : rest, TimeUnit.NANOSECONDS)) {
        System.err.println(
            left
                ? "# worker process "
                    + nodeId
                    + " left the cluster, but its actor system did not terminate within "
                    + AFTER_LEFT.toSeconds()
                    + " s (Pekko 1.7's remoting can wait for a stream without a deadline): killed"
                : "# worker process " + nodeId + " did not leave within 15 s: killed");
      }
    } catch (IOException | InterruptedException e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
    } finally {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      LIVE.remove(process);
    }
  }

  /**
   * How long after its {@code LEFT} line a worker process gets to end: its actor system's
   * termination takes well under a second (the remoting's flush is bounded by 1 s).
   */
  static final Duration AFTER_LEFT = Duration.ofSeconds(3);

  /**
   * Starts a worker node process joined to {@code node}, {@code conf} its {@code --conf}; returns
   * at once (see {@link #awaitReady}).
   */
  static WorkerProcess launch(ProverNode node, String name, WorkerGroup workers, String conf) {
    int n = STARTED.incrementAndGet();
    String nodeId = "w" + n + "-" + name;
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(workerJvmOptions(n));
    command.addAll(
        List.of(
            "-cp",
            classPath(),
            BenchWorkerNode.class.getName(),
            "--seed",
            Cluster.get(node.system()).selfMember().address().toString(),
            "--node-id",
            nodeId,
            "--workers",
            String.valueOf(workers.count()),
            "--concurrency",
            String.valueOf(workers.concurrency()),
            "--types",
            String.join(",", workers.taskTypes()),
            "--conf",
            conf));
    List<String> workerIds = new ArrayList<>();
    for (int i = 1; i <= workers.count(); i++) {
      workerIds.add(nodeId + "-w" + i); // ProverNode names its workers <nodeId>-w1, -w2, ...
    }
    try {
      Process process =
          new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      LIVE.add(process);
      return new WorkerProcess(
          process, nodeId, workerIds, System.nanoTime(), BenchWorkerNode.epochMicros());
    } catch (IOException e) {
      throw new IllegalStateException("could not start the worker process: " + command, e);
    }
  }

  /**
   * The harness's heap and -XX flags (no flight recording, no agent), then {@code
   * bench.worker.java-opts}.
   */
  private static List<String> workerJvmOptions(int n) {
    List<String> options =
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(
                a ->
                    a.startsWith("-Xm")
                        || a.startsWith("-Xss")
                        || (a.startsWith("-XX:") && !a.contains("FlightRecord"))
                        || a.startsWith("-Dbench.loglevel"))
            .collect(Collectors.toCollection(ArrayList::new));
    String extra = System.getProperty("bench.worker.java-opts", "").trim();
    if (!extra.isEmpty()) {
      for (String option : extra.split("\\s+")) {
        options.add(option.replace("{n}", String.valueOf(n)));
      }
    }
    return options;
  }

  /**
   * The harness's own class path (bench.jar when run with -jar; the test class path under Maven).
   */
  static String classPath() {
    String explicit = System.getProperty("bench.worker.classpath");
    if (explicit != null) {
      return explicit;
    }
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null ? surefire : System.getProperty("java.class.path");
  }
}
