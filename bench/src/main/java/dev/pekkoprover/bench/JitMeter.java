package dev.pekkoprover.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * CPU time of HotSpot's JIT compiler threads in this JVM and in its child processes (the worker
 * node processes of the cross-process deployment), from {@code /proc/[pid]/task/[tid]/stat}: the
 * threads HotSpot names {@code C1 CompilerThread<n>} and {@code C2 CompilerThread<n>} ({@code
 * /proc} keeps the first 15 characters, {@code "C1 CompilerThre"}). Outside Linux, or when {@code
 * /proc} cannot be read, 0.
 *
 * <p>Why the harness looks at it: a fresh worker process's C2 compiler ran 10-30 s into the
 * cross-process workloads and, on this 2-core machine, took the cores from the very threads whose
 * hand-offs the tree and the latency measure (a 64-leaf tree in 17.3 ms while the compilers used
 * half a core each, 8.4 ms once they were quiet; BENCHMARKS.md, issue 14's fourth round). Compiler
 * threads that HotSpot stops when idle take their count with them, so a difference over an interval
 * can come out low, never high.
 */
final class JitMeter {
  /** Linux USER_HZ: /proc counts in 1/100 s. */
  private static final double TICKS_PER_SECOND = 100;

  private static final String C1 = "C1 CompilerThre";
  private static final String C2 = "C2 CompilerThre";

  private JitMeter() {}

  /**
   * CPU seconds (user + system) the compiler threads of this JVM and of its live child processes
   * used so far.
   */
  static double compilerSeconds() {
    double seconds = processCompilerSeconds(ProcessHandle.current().pid());
    Iterator<ProcessHandle> children = ProcessHandle.current().children().iterator();
    while (children.hasNext()) {
      seconds += processCompilerSeconds(children.next().pid());
    }
    return seconds;
  }

  /** One unreported run of a workload. */
  interface Run {
    void run() throws Exception;
  }

  /**
   * What {@link #runUntilQuiet} did: how many runs, and {@code yes} (quiet), {@code no} (the bound
   * ran out first) or {@code unchecked} (not waited for).
   */
  record Quiet(int runs, String verdict) {}

  /** The JIT counts as quiet below this share of one core: 5%. */
  static final double QUIET_SHARE = 0.05;

  /** Runs are judged a second's worth at a time: 1 s. */
  private static final long WINDOW_NANOS = 1_000_000_000L;

  /**
   * Runs {@code run} a second's worth at a time until the compilers of this JVM and its child
   * processes used less than {@link #QUIET_SHARE} of one core over the last second, or {@code
   * maxSeconds} passed (then it ends after the second under way). {@code maxSeconds <= 0}: runs
   * nothing.
   */
  static Quiet runUntilQuiet(int maxSeconds, Run run) throws Exception {
    if (maxSeconds <= 0) {
      return new Quiet(0, "unchecked");
    }
    long deadline = System.nanoTime() + maxSeconds * 1_000_000_000L;
    int runs = 0;
    while (true) {
      long start = System.nanoTime();
      double compiling = compilerSeconds();
      do {
        run.run();
        runs++;
      } while (System.nanoTime() - start < WINDOW_NANOS);
      double share = (compilerSeconds() - compiling) / ((System.nanoTime() - start) / 1e9);
      if (share < QUIET_SHARE) {
        return new Quiet(runs, "yes");
      }
      if (System.nanoTime() - deadline > 0) {
        return new Quiet(runs, "no");
      }
    }
  }

  private static double processCompilerSeconds(long pid) {
    double seconds = 0;
    try (DirectoryStream<Path> threads =
        Files.newDirectoryStream(Path.of("/proc", String.valueOf(pid), "task"))) {
      for (Path thread : threads) {
        String stat;
        try {
          stat = Files.readString(thread.resolve("stat"));
        } catch (IOException ended) {
          continue; // the thread ended between the listing and the read
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (name.startsWith(C1) || name.startsWith(C2)) {
          seconds += busySeconds(stat);
        }
      }
    } catch (IOException | RuntimeException e) {
      return seconds;
    }
    return seconds;
  }

  /**
   * utime + stime of a {@code /proc/.../stat} line: fields 14 and 15, the 12th and 13th after the
   * command name in parentheses (which may itself hold spaces).
   */
  static double busySeconds(String stat) {
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / TICKS_PER_SECOND;
  }
}
