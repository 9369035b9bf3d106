package dev.pekkoprover.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU used during one measurement: by this JVM, and by everything else on the machine (other
 * engineers' builds on a shared 2-core host), as the baseline's {@code other_cpu_pct}. 100 means
 * one core. A measurement with a high {@code other_cpu_pct} was disturbed and should be taken
 * again. Also the hypervisor's steal ({@code steal_pct}): time this VM's vCPUs were ready to run
 * but not run, the {@code steal} column of /proc/stat. It is part of {@code other_cpu_pct} (the
 * kernel counts it as not idle) but no process of this machine can lower it; while it lasts, any
 * thread may be held off its core for milliseconds, which is what the tail of a round trip measures
 * (BENCHMARKS.md, issue 14's twelfth round).
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
  private double steal0;

  void start() {
    wall0 = System.nanoTime();
    self0 = os.getProcessCpuTime();
    machine0 = machineBusySeconds();
    children0 = childrenBusySeconds();
    jit0 = JitMeter.compilerSeconds();
    steal0 = machineStealSeconds();
  }

  /**
   * [this JVM's CPU %, everything else's CPU %, this JVM's child processes' CPU %, the JIT
   * compilers' CPU % in this JVM and the children ({@link JitMeter}, part of the first and third),
   * the hypervisor's steal % (part of the second; NaN where /proc/stat cannot be read)] since
   * {@link #start()}. The children are the worker node processes of the cross-process deployment;
   * they are not counted in "everything else". Children that started or ended in between count only
   * for what they used while the meter saw them.
   */
  double[] stop() {
    double wall = (System.nanoTime() - wall0) / 1e9;
    double self = (os.getProcessCpuTime() - self0) / 1e9;
    double machine = machineBusySeconds() - machine0;
    double children = Math.max(0, childrenBusySeconds() - children0);
    double other = Double.isNaN(machine) ? Double.NaN : Math.max(0, machine - self - children);
    double jit = Math.max(0, JitMeter.compilerSeconds() - jit0);
    double steal = machineStealSeconds() - steal0;
    return new double[] {
      100 * self / wall,
      100 * other / wall,
      100 * children / wall,
      100 * jit / wall,
      100 * steal / wall
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
      String[] fields = machineFields();
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

  /**
   * CPU seconds the hypervisor has stolen from this machine's vCPUs so far (all of them), from
   * /proc/stat; NaN where it cannot be read.
   */
  static double machineStealSeconds() {
    try {
      return stealTicks(machineFields()) / TICKS_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /**
   * The {@code steal} column (the eighth number) of /proc/stat's first line, split; 0 on a kernel
   * that does not count it.
   */
  static long stealTicks(String[] fields) {
    return fields.length > 8 ? Long.parseLong(fields[8]) : 0;
  }

  private static String[] machineFields() throws IOException {
    return Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
  }
}
