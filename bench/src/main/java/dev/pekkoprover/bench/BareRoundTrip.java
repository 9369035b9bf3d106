package dev.pekkoprover.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.ClusterTls;
import dev.pekkoprover.protocol.CborSerializable;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * The floor under the cross-process latency figures: the same round trip with no framework at all.
 * One JVM asks an echo actor in a second JVM, over Artery on loopback with the cluster deployment's
 * dispatcher settings and the same Jackson CBOR serializer, for a message of about the bench task's
 * size, one at a time, and prints the round trip's p50/p90/p99/max in the harness's line format
 * ({@code bare roundtrip ... transport=<t> tls=on|off ...}). The transport is plain TCP ({@code
 * --transport tcp}, the default) or mutual TLS over TCP as the cluster deployment ships ({@code
 * --transport tls-tcp}, with a key set made for the run, as the harness makes one for its cluster):
 * the cross-process latency of the framework is judged against the bare figure over the same
 * transport ({@link Targets}). Whatever this prints is paid by every task that crosses processes
 * before our queue does anything; the queue's own path adds two more remote messages per task (task
 * to the worker, result back) on top of the sequencer's local hops.
 *
 * <p>With {@code --window N} it measures the transport's throughput instead: N pings in flight at
 * once, each echo sending the next, {@code count} round trips per run, and prints {@code bare
 * roundtrip mode=window c=N ... trips_per_s=... tasks_per_s=...} (medians of the runs). With one
 * task per message that is the ceiling of the cross-process throughput workload at the same
 * concurrency if each task crossed on its own (a task there is at least one such round trip:
 * dispatch to the worker, its report back). The queue sends the tasks it hands one worker at once
 * in one message, and the worker its reports, so the other ceiling is {@code --window 1
 * --tasks-per-message N}: one message of N tasks' bytes ({@value #TASK_BYTES} bytes each, about one
 * bench task) each way at a time.
 *
 * <p>With {@code --cluster} the two JVMs are joined members of one Pekko Cluster, with the shipped
 * {@code cluster.conf}'s provider, failure detector and gossip, and nothing else: the line then
 * says {@code provider=cluster}. Set beside the plain line, it shows what membership alone does to
 * the transport's round trip, apart from anything the framework runs in a node.
 *
 * <pre>
 * {@code java -cp bench/target/bench.jar dev.pekkoprover.bench.BareRoundTrip [--count 2000] [--runs 5]
 *     [--transport tcp|tls-tcp] [--window N] [--tasks-per-message 1] [--jit-quiet-max-s 60]
 *     [--cluster]}
 * </pre>
 */
public final class BareRoundTrip {
  private BareRoundTrip() {}

  /** Bytes of one task in a ping's body: about what one bench task's input weighs serialised. */
  static final int TASK_BYTES = 200;

  /**
   * What to measure: {@code runs} runs of {@code count} round trips over {@code transport} ({@code
   * tcp} or {@code tls-tcp}); {@code window} pings in flight (0: one ask at a time, timed each),
   * each of {@code tasksPerMessage} tasks' bytes; warm-up until the compilers are quiet for at most
   * {@code jitQuietMaxSeconds} (0: the fixed warm-up only); {@code cluster}: the two JVMs are
   * joined members of one Pekko Cluster (the shipped provider, heartbeats and gossip) instead of
   * remoting alone.
   */
  record Settings(
      int count,
      int runs,
      String transport,
      int window,
      int tasksPerMessage,
      int jitQuietMaxSeconds,
      boolean cluster) {
    Settings(
        int count,
        int runs,
        String transport,
        int window,
        int tasksPerMessage,
        int jitQuietMaxSeconds) {
      this(count, runs, transport, window, tasksPerMessage, jitQuietMaxSeconds, false);
    }
  }

  /** A ping, answered by the echo actor with the same body. */
  public record Ping(long seq, byte[] body, ActorRef<Pong> replyTo) implements CborSerializable {}

  /** The echo of a {@link Ping}. */
  public record Pong(long seq, byte[] body) implements CborSerializable {}

  /**
   * The settings of either side: the cluster deployment's, remoting without the cluster (or, with
   * {@code cluster}, with it: the shipped provider and its failure detector, no roles), on {@code
   * transport}; {@code keys} the key files' settings for {@code tls-tcp} (blank for {@code tcp}).
   */
  private static Config config(int port, String transport, String keys, boolean cluster) {
    Config base =
        ConfigFactory.parseString(
            (cluster
                    ? ""
                    : "pekko.actor.provider = remote\n"
                        // remoting without the cluster is the point here
                        + "pekko.remote.warn-about-direct-use = off\n")
                + "pekko.remote.artery.canonical.port = "
                + port
                + "\n"
                + "pekko.loglevel = WARNING\n"
                + "pekko.remote.artery.transport = "
                + transport
                + "\n");
    // loaded as a node loads it (cluster.conf and the references resolved last), so that the key
    // files' prover.tls.* reach Pekko's TLS engine
    return ClusterTls.load(ConfigFactory.parseString(keys).withFallback(base));
  }

  /** Answers every {@link Ping} with its body; also served by every bench worker process. */
  static Behavior<Ping> echo() {
    return Behaviors.receiveMessage(
        ping -> {
          ping.replyTo().tell(new Pong(ping.seq(), ping.body()));
          return Behaviors.same();
        });
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 4 && args[0].equals("echo")) {
      runEcho(args[1], args[2], args[3].equals("cluster"));
      return;
    }
    int count = 2000;
    int runs = 5;
    String transport = "tcp";
    int jitQuietMaxSeconds = 60;
    int window = 0;
    int perMessage = 1;
    boolean cluster = false;
    List<String> options = new ArrayList<>(List.of(args));
    if (options.remove("--cluster")) {
      cluster = true;
    }
    args = options.toArray(String[]::new);
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--count" -> count = Integer.parseInt(args[i + 1]);
        case "--runs" -> runs = Integer.parseInt(args[i + 1]);
        case "--transport" -> transport = args[i + 1];
        case "--jit-quiet-max-s" -> jitQuietMaxSeconds = Integer.parseInt(args[i + 1]);
        case "--window" -> window = Integer.parseInt(args[i + 1]);
        case "--tasks-per-message" -> perMessage = Integer.parseInt(args[i + 1]);
        default ->
            throw new IllegalArgumentException(
                "unknown option "
                    + args[i]
                    + " (--count N, --runs N, --transport tcp|tls-tcp, --window N,"
                    + " --tasks-per-message N,"
                    + " --jit-quiet-max-s N, --cluster)");
      }
    }
    if (!transport.equals("tcp") && !transport.equals("tls-tcp")) {
      throw new IllegalArgumentException(
          "--transport " + transport + ": tcp or tls-tcp (Artery's TCP transports)");
    }
    if (window < 0) {
      throw new IllegalArgumentException("--window " + window + ": pings in flight, at least 1");
    }
    if (perMessage < 1) {
      throw new IllegalArgumentException("--tasks-per-message " + perMessage + ": 1 or more");
    }
    run(
        new Settings(count, runs, transport, window, perMessage, jitQuietMaxSeconds, cluster),
        System.out::println);
    System.exit(0); // whatever thread a stalled shutdown left behind
  }

  /**
   * The far side: prints its echo actor's address, then serves until its stdin closes; with {@code
   * cluster} it first forms a cluster of itself, which the measuring side joins.
   */
  private static void runEcho(String transport, String keys, boolean cluster) throws Exception {
    ActorSystem<Ping> system =
        ActorSystem.create(echo(), "bare", config(0, transport, keys, cluster));
    if (cluster) {
      Cluster self = Cluster.get(system);
      self.manager().tell(Join.create(self.selfMember().address()));
    }
    String path = ActorRefResolver.get(system).toSerializationFormat(system);
    System.out.println("ECHO " + path);
    System.out.flush();
    while (System.in.read() >= 0) {
      // serve until the parent closes the pipe
    }
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * Starts the echo JVM, warms up (3 x {@code count} asks, then more until both JVMs' compilers are
   * quiet, for at most {@code jitQuietMaxSeconds}: {@link JitMeter#runUntilQuiet}), measures,
   * prints {@code #} lines per run and the summary line to {@code out}, stops it.
   */
  static void run(Settings settings, java.util.function.Consumer<String> out) throws Exception {
    int count = settings.count();
    int runs = settings.runs();
    String transport = settings.transport();
    int perMessage = settings.tasksPerMessage();
    // tls-tcp: one key set for both sides (made once per harness JVM, as for the bench cluster)
    String keys =
        transport.equals("tls-tcp")
            ? ClusterDeployment.withKeys("pekko.remote.artery.transport = tls-tcp")
            : "";
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms1g",
                "-Xmx1g",
                "-cp",
                WorkerProcess.classPath()));
    // the same Pekko settings on both sides: -Dpekko.* given to this JVM go to the echo JVM too
    System.getProperties().stringPropertyNames().stream()
        .filter(name -> name.startsWith("pekko."))
        .sorted()
        .forEach(
            name -> command.add(command.size() - 2, "-D" + name + "=" + System.getProperty(name)));
    command.addAll(
        List.of(
            BareRoundTrip.class.getName(),
            "echo",
            transport,
            keys,
            settings.cluster() ? "cluster" : "remote"));
    Process echoProcess =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(), "bare", config(0, transport, keys, settings.cluster()));
    try {
      BufferedReader echoOut =
          new BufferedReader(
              new InputStreamReader(echoProcess.getInputStream(), StandardCharsets.UTF_8));
      String line = echoOut.readLine();
      while (line != null && !line.startsWith("ECHO ")) { // logging set-up may print first
        line = echoOut.readLine();
      }
      if (line == null) {
        throw new IllegalStateException(
            "the echo process ended before printing its address (see its stderr)");
      }
      Thread drain = new Thread(() -> echoOut.lines().forEach(ignored -> {}), "bare-echo-stdout");
      drain.setDaemon(true); // whatever else it prints must not fill the pipe and stall it
      drain.start();
      ActorRef<Ping> echoRef = ActorRefResolver.get(system).resolveActorRef(line.substring(5));
      if (settings.cluster()) {
        joinAndAwaitUp(system, echoRef.path().address());
      }
      if (settings.window() > 0) {
        measureWindow(system, echoRef, settings, out);
        return;
      }
      byte[] body = new byte[TASK_BYTES * perMessage];
      Duration timeout = Duration.ofSeconds(5);
      // the first ask opens Artery's connection between two cold JVMs: slow on a loaded machine
      ask(system, echoRef, 0, body, Duration.ofSeconds(30));
      for (int w = 1; w < 3 * count; w++) { // warm-up: JIT and Artery's compression tables
        ask(system, echoRef, w, body, timeout);
      }
      // then as the harness's workloads warm up (WorkloadFamily.warmUp): until both JVMs'
      // compilers are quiet, so that the two are compared in the same state
      JitMeter.Quiet quiet =
          JitMeter.runUntilQuiet(
              settings.jitQuietMaxSeconds(),
              () -> {
                for (int i = 0; i < count; i++) {
                  ask(system, echoRef, i, body, timeout);
                }
              });
      double compiling = JitMeter.compilerSeconds();
      double stealing = CpuMeter.machineStealSeconds();
      long measuring = System.nanoTime();
      long[][] all = new long[runs][];
      for (int r = 0; r < runs; r++) {
        long[] nanos = askOneAtATime(system, echoRef, count, body);
        Arrays.sort(nanos);
        all[r] = nanos;
        out.accept(
            String.format(
                "# bare roundtrip run=%d p50_ms=%.4f p99_ms=%.4f max_ms=%.3f",
                r + 1, ms(nanos, 0.50), ms(nanos, 0.99), nanos[count - 1] / 1e6));
      }
      out.accept(
          String.format(
              "bare roundtrip mode=ask c=1 deployment=two-jvm%s transport=%s tls=%s tasks=%d runs=%d "
                  + "warmup_runs=%d jit_quiet=%s "
                  + "p50_ms=%.4f p90_ms=%.4f p99_ms=%.4f max_ms=%.3f jit_pct=%.0f steal_pct=%.0f"
                  + " tasks_per_message=%d",
              settings.cluster() ? " provider=cluster" : "",
              transport,
              transport.equals("tls-tcp") ? "on" : "off",
              count,
              runs,
              3 + quiet.runs(),
              quiet.verdict(),
              median(all, 0.50),
              median(all, 0.90),
              median(all, 0.99),
              median(all, 1.0),
              percentOfOneCoreSince(JitMeter.compilerSeconds() - compiling, measuring),
              percentOfOneCoreSince(CpuMeter.machineStealSeconds() - stealing, measuring),
              perMessage));
    } finally {
      // this side first, while its peer still runs: with the peer gone first, Pekko 1.7's Artery
      // over TLS waited without a deadline for the outbound stream to it to finish (the JVM did not
      // exit; apache/pekko#3317 bounds it in a later release)
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(15, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException stalled) {
        System.err.println("bare: the measuring actor system did not terminate within 15 s");
      }
      echoProcess.getOutputStream().close();
      if (!echoProcess.waitFor(15, TimeUnit.SECONDS)) {
        echoProcess.destroyForcibly();
        echoProcess.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * Joins the echo's cluster and waits until both members are Up (at most 30 s).
   *
   * @throws IllegalStateException when they are not Up by then
   */
  private static void joinAndAwaitUp(ActorSystem<?> system, Address echo)
      throws InterruptedException {
    Cluster cluster = Cluster.get(system);
    cluster.manager().tell(Join.create(echo));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (upMembers(cluster) < 2) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "the two bare JVMs did not form a cluster of 2 Up members within 30 s");
      }
      Thread.sleep(20); // polling the member list: Cluster's state has no future to wait on here
    }
  }

  private static long upMembers(Cluster cluster) {
    return java.util.stream.StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
        .filter(m -> m.status() == MemberStatus.up())
        .count();
  }

  /**
   * {@code window} pings in flight, {@code count} round trips per run; warms up as {@link #run}
   * does, then prints a {@code #} line per run and the summary line (median trips/s over the runs).
   */
  private static void measureWindow(
      ActorSystem<?> system,
      ActorRef<Ping> echo,
      Settings settings,
      java.util.function.Consumer<String> out)
      throws Exception {
    int count = settings.count();
    int window = settings.window();
    int perMessage = settings.tasksPerMessage();
    byte[] body = new byte[TASK_BYTES * perMessage];
    int[] names = {0};
    java.util.concurrent.Callable<Double> oneRun =
        () -> {
          CompletableFuture<Long> done = new CompletableFuture<>();
          system.systemActorOf(
              windowed(echo, body, window, count, done),
              "bare-window-" + names[0]++,
              org.apache.pekko.actor.typed.Props.empty());
          long nanos = done.get(60, TimeUnit.SECONDS);
          return count / (nanos / 1e9);
        };
    for (int w = 0; w < 3; w++) {
      oneRun.call();
    }
    JitMeter.Quiet quiet =
        JitMeter.runUntilQuiet(settings.jitQuietMaxSeconds(), () -> oneRun.call());
    double compiling = JitMeter.compilerSeconds();
    long measuring = System.nanoTime();
    double[] rates = new double[settings.runs()];
    for (int r = 0; r < rates.length; r++) {
      rates[r] = oneRun.call();
      out.accept(String.format("# bare roundtrip window run=%d trips_per_s=%.0f", r + 1, rates[r]));
    }
    double[] sorted = rates.clone();
    Arrays.sort(sorted);
    out.accept(
        String.format(
            "bare roundtrip mode=window c=%d deployment=two-jvm%s transport=%s tls=%s tasks=%d"
                + " runs=%d warmup_runs=%d jit_quiet=%s trips_per_s=%.0f trips_per_s_min=%.0f"
                + " trips_per_s_max=%.0f tasks_per_message=%d tasks_per_s=%.0f jit_pct=%.0f",
            window,
            settings.cluster() ? " provider=cluster" : "",
            settings.transport(),
            settings.transport().equals("tls-tcp") ? "on" : "off",
            count,
            rates.length,
            3 + quiet.runs(),
            quiet.verdict(),
            sorted[sorted.length / 2],
            sorted[0],
            sorted[sorted.length - 1],
            perMessage,
            perMessage * sorted[sorted.length / 2],
            percentOfOneCoreSince(JitMeter.compilerSeconds() - compiling, measuring)));
  }

  /**
   * {@code cpuSeconds} as a share of the wall time since {@code measuring} ({@link
   * System#nanoTime()}), 100 = one core: the compilers' CPU ({@link JitMeter}) or the hypervisor's
   * steal ({@link CpuMeter}; NaN when it cannot be read) over the measured runs.
   */
  private static double percentOfOneCoreSince(double cpuSeconds, long measuring) {
    return 100 * cpuSeconds / ((System.nanoTime() - measuring) / 1e9);
  }

  /**
   * Keeps {@code window} pings in flight until {@code count} echoes came back, then completes
   * {@code done} with the nanoseconds from the first ping to the last echo and stops.
   */
  private static Behavior<Pong> windowed(
      ActorRef<Ping> echo, byte[] body, int window, int count, CompletableFuture<Long> done) {
    return Behaviors.setup(
        context -> {
          long start = System.nanoTime();
          long[] sent = {0};
          long[] received = {0};
          for (int i = 0; i < Math.min(window, count); i++) {
            echo.tell(new Ping(sent[0]++, body, context.getSelf()));
          }
          return Behaviors.receiveMessage(
              pong -> {
                received[0]++;
                if (sent[0] < count) {
                  echo.tell(new Ping(sent[0]++, body, context.getSelf()));
                }
                if (received[0] == count) {
                  done.complete(System.nanoTime() - start);
                  return Behaviors.stopped();
                }
                return Behaviors.same();
              });
        });
  }

  /**
   * {@code count} asks of {@code echo}, one at a time from the calling thread, each with {@code
   * body}; returns each round trip's nanoseconds (ask to reply in hand), in order.
   *
   * @throws IllegalStateException when an echo is wrong; the ask's own failure (5 s timeout) as is
   */
  static long[] askOneAtATime(ActorSystem<?> system, ActorRef<Ping> echo, int count, byte[] body)
      throws Exception {
    Duration timeout = Duration.ofSeconds(5);
    long[] nanos = new long[count];
    for (int i = 0; i < count; i++) {
      long start = System.nanoTime();
      ask(system, echo, i, body, timeout);
      nanos[i] = System.nanoTime() - start;
    }
    return nanos;
  }

  private static void ask(
      ActorSystem<?> system, ActorRef<Ping> echo, long seq, byte[] body, Duration timeout)
      throws Exception {
    CompletableFuture<Pong> reply =
        AskPattern.<Ping, Pong>ask(
                echo, replyTo -> new Ping(seq, body, replyTo), timeout, system.scheduler())
            .toCompletableFuture();
    Pong pong = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (pong.seq() != seq) {
      throw new IllegalStateException("echo of " + pong.seq() + " for ping " + seq);
    }
  }

  private static double ms(long[] sorted, double q) {
    int index = Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1);
    return sorted[Math.max(0, index)] / 1e6;
  }

  /** The median over runs of one quantile. */
  private static double median(long[][] runs, double q) {
    double[] values = Arrays.stream(runs).mapToDouble(r -> ms(r, q)).sorted().toArray();
    return values[values.length / 2];
  }
}
