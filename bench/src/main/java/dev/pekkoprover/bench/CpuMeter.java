package dev.pekkoprover.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU used during one measurement: by this JVM, and by everything else on the machine (other
 * engineers' builds on a shared 2-core host), as the baseline's {@code other_cpu_pct}. 100 means
 * one core. A measurement with a high {@code other_cpu_pct} was disturbed and should be taken
 * again.
 */
final class CpuMeter {
  /** Linux USER_HZ: /proc/stat counts in 1/100 s. */
  private static final double TICKS_PER_SECOND = 100;

  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private long wall0;
  private long self0;
  private double machine0;
  private double children0;
  private double jit0;

  void start() {
    wall0 = System.nanoTime();
    self0 = os.getProcessCpuTime();
    machine0 = machineBusySeconds();
    children0 = childrenBusySeconds();
    jit0 = JitMeter.compilerSeconds();
  }

  /**
   * [this JVM's CPU %, everything else's CPU %, this JVM's child processes' CPU %, the JIT
   * compilers' CPU % in this JVM and the children ({@link JitMeter}, part of the first and third)]
   * since {@link #start()}. The children are the worker node processes of the cross-process
   * deployment; they are not counted in "everything else". Children that started or ended in
   * between count only for what they used while the meter saw them.
   */
  double[] stop() {
    double wall = (System.nanoTime() - wall0) / 1e9;
    double self = (os.getProcessCpuTime() - self0) / 1e9;
    double machine = machineBusySeconds() - machine0;
    double children = Math.max(0, childrenBusySeconds() - children0);
    double other = Double.isNaN(machine) ? Double.NaN : Math.max(0, machine - self - children);
    double jit = Math.max(0, JitMeter.compilerSeconds() - jit0);
    return new double[] {
      100 * self / wall, 100 * other / wall, 100 * children / wall, 100 * jit / wall
    };
  }

  /**
   * CPU seconds used so far by this JVM's live child processes, from /proc/[pid]/stat (utime +
   * stime).
   */
  static double childrenBusySeconds() {
    return ProcessHandle.current().children().mapToDouble(CpuMeter::processBusySeconds).sum();
  }

  private static double processBusySeconds(ProcessHandle process) {
    try {
      return JitMeter.busySeconds(
          Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat")));
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /**
   * Busy CPU seconds of the whole machine (all cores), from /proc/stat: total minus idle and
   * iowait.
   */
  static double machineBusySeconds() {
    try {
      String first = Files.readAllLines(Path.of("/proc/stat")).get(0).trim();
      String[] fields = first.split("\\s+");
      long total = 0;
      for (int i = 1; i <= 8 && i < fields.length; i++) {
        total += Long.parseLong(fields[i]);
      }
      long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
      return (total - idle) / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }
}
