package dev.pekkoprover.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The JIT compilers' meter and the warm-up that waits for them ({@link WorkloadFamily#warmUp}). */
class JitWarmUpTest {

  @Test
  void readsUserPlusSystemTimeAfterACommandNameWithSpaces() {
    // pid (comm) state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt,
    // then utime and stime in 1/100 s
    String stat = "4242 (C2 CompilerThre) S 1 4242 4242 0 -1 4194368 812 0 0 0 250 50 0 0 20 0";
    assertEquals(3.0, JitMeter.busySeconds(stat), 1e-9);
  }

  @Test
  void countsThisJvmsCompilerThreads() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux's /proc");
    // JUnit and Maven's launcher have run long enough here for C1 to have compiled a good deal
    assertTrue(JitMeter.compilerSeconds() > 0, "compiler threads' CPU time");
  }

  @Test
  void withoutAWaitOnlyTheFixedRunsRun() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    Line line = Line.ours("test");
    family("--jit-quiet-max-s", "0").warmUp(line, 3, runs::incrementAndGet);
    assertEquals(3, runs.get());
    assertTrue(line.toString().contains("warmup_runs=3 jit_quiet=unchecked"), line.toString());
  }

  @Test
  void theWaitRunsMoreForAtLeastASecondAndEndsWithinItsBound() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux's /proc");
    AtomicInteger runs = new AtomicInteger();
    Line line = Line.ours("test");
    long start = System.nanoTime();
    family("--jit-quiet-max-s", "2")
        .warmUp(
            line,
            2,
            () -> {
              runs.incrementAndGet();
              Thread.sleep(50); // a run of the workload: 50 ms of a quiet JVM
            });
    double seconds = (System.nanoTime() - start) / 1e9;
    assertTrue(runs.get() > 2 + 10, runs.get() + " runs: the fixed 2, then a second's worth");
    assertTrue(seconds < 2 + 1 + 1, "took " + seconds + " s, bound 2 s plus one window");
    String text = line.toString();
    assertTrue(
        text.contains("warmup_runs=" + runs.get() + " jit_quiet=yes")
            || text.contains("warmup_runs=" + runs.get() + " jit_quiet=no"),
        text);
  }

  private static WorkloadFamily family(String... args) {
    return new WorkloadFamily(
        new WorkloadFamily.Shared(Options.parse(args), null, null, line -> {}, null)) {};
  }
}
