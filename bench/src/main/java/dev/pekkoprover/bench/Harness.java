package dev.pekkoprover.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The benchmark harness: runs the named workloads and prints one machine-readable line per
 * measurement on stdout, {@code ours <workload> key=value ...}, the shape of the BullMQ baseline's
 * {@code bullmq ...} lines; comment lines start with {@code #}. {@code bench/run.sh} runs it next
 * to the baseline and {@link Ratios} compares the two.
 *
 * <pre>{@code
 * java -jar bench/target/bench.jar all                      # every one-JVM workload
 * java -Xmx1g -jar bench/target/bench.jar memory             # heap workloads, in a JVM of their own
 * java -jar bench/target/bench.jar throughput --deployment cluster
 * }</pre>
 */
public final class Harness {
  private Harness() {}

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
      Journal.of(options); // a missing database URL is a usage error, before anything starts
    } catch (IllegalArgumentException e) {
      System.err.println(
          e.getMessage().equals("help") ? Options.USAGE : e.getMessage() + "\n" + Options.USAGE);
      System.exit(2);
      return;
    }
    boolean ok =
        run(
            options,
            line -> {
              System.out.println(line);
              System.out.flush();
            });
    System.exit(ok ? 0 : 1);
  }

  /**
   * Runs the workloads of {@code options}, handing each output line to {@code out}; false if any
   * failed.
   */
  public static boolean run(Options options, Consumer<String> out) {
    BenchConfig config = BenchConfig.load(options.conf());
    Deployment deployment = Deployment.named(options.deployment(), config, Journal.of(options));
    out.accept(header(options));
    Workloads workloads = new Workloads(options, config, deployment, out);
    boolean ok = true;
    for (String workload : options.workloads()) {
      ok &= workloads.run(workload);
    }
    return ok;
  }

  private static String header(Options options) {
    Runtime runtime = Runtime.getRuntime();
    String gc =
        ManagementFactory.getGarbageCollectorMXBeans().stream()
            .map(bean -> bean.getName().replace(' ', '_'))
            .reduce((a, b) -> a + "," + b)
            .orElse("?");
    return String.format(
        Locale.ROOT,
        "# ours harness java=%s vm=%s cpus=%d xmx_mb=%d gc=%s loadavg=%s deployment=%s journal=%s runs=%s workloads=%s%s",
        System.getProperty("java.version"),
        System.getProperty("java.vm.name").replace(' ', '_'),
        runtime.availableProcessors(),
        runtime.maxMemory() >> 20,
        gc,
        loadAverage(),
        options.deployment(),
        options.journal(),
        options.runs() > 0 ? options.runs() : "default",
        String.join(",", options.workloads()),
        options.conf().isBlank() ? "" : " conf=" + options.conf().replaceAll("\\s+", "_"));
  }

  private static String loadAverage() {
    try {
      String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return fields[0] + "," + fields[1] + "," + fields[2];
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  /**
   * Waits for a stage at the edge of the framework (the harness is its client); fails after {@code
   * seconds}.
   */
  static <T> T await(CompletionStage<T> stage, long seconds) {
    try {
      return stage.toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("no answer within " + seconds + " s", e);
    }
  }
}
