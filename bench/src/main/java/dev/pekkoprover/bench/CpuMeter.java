package dev.pekkoprover.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU used during one measurement: by this JVM, and by everything else on the machine (other engineers' builds on a
 * shared 2-core host), as the baseline's {@code other_cpu_pct}. 100 means one core. A measurement with a high {@code
 * other_cpu_pct} was disturbed and should be taken again.
 */
final class CpuMeter {
  /** Linux USER_HZ: /proc/stat counts in 1/100 s. */
  private static final double TICKS_PER_SECOND = 100;

  private final com.sun.management.OperatingSystemMXBean os =
      (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
  private long wall0;
  private long self0;
  private double machine0;

  void start() {
    wall0 = System.nanoTime();
    self0 = os.getProcessCpuTime();
    machine0 = machineBusySeconds();
  }

  /** [this JVM's CPU %, everything else's CPU %] since {@link #start()}. */
  double[] stop() {
    double wall = (System.nanoTime() - wall0) / 1e9;
    double self = (os.getProcessCpuTime() - self0) / 1e9;
    double machine = machineBusySeconds() - machine0;
    double other = Double.isNaN(machine) ? Double.NaN : Math.max(0, machine - self);
    return new double[] {100 * self / wall, 100 * other / wall};
  }

  /** Busy CPU seconds of the whole machine (all cores), from /proc/stat: total minus idle and iowait. */
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
