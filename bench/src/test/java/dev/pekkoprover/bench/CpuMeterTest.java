package dev.pekkoprover.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CpuMeterTest {

  @Test
  void stealIsTheEighthNumberOfProcStatsFirstLineAndZeroWhereTheKernelHasNoSuchColumn() {
    // user nice system idle iowait irq softirq steal guest guest_nice (this machine, 2026-12-02)
    assertEquals(
        75985,
        CpuMeter.stealTicks(
            "cpu  5830553 1953 837677 5949839 6785 0 48703 75985 0 0".split("\\s+")));
    assertEquals(0, CpuMeter.stealTicks("cpu 10 0 5 100 0 0 1".split("\\s+")));
  }

  @Test
  void aMeterSeesNoNegativeSteal() {
    CpuMeter meter = new CpuMeter();
    meter.start();
    double[] load = meter.stop();
    assertEquals(5, load.length);
    assertTrue(!(load[4] < 0), "steal % since start: " + load[4]);
  }
}
