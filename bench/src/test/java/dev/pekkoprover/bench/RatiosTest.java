package dev.pekkoprover.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RatiosTest {

  private static List<String> compare(String... lines) {
    List<String> out = new ArrayList<>();
    Ratios.compare(Ratios.parse(List.of(lines)), out::add);
    return out;
  }

  private static String lineStarting(List<String> out, String prefix) {
    return out.stream()
        .filter(l -> l.startsWith(prefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no line starting with '" + prefix + "' in " + out));
  }

  @Test
  void throughputIsComparedWithTheBaselinesMedianAtTheSameConcurrency() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=jvm tasks=20000 tasks_per_s=500000 tasks_per_s_min=1 tasks_per_s_max=2",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=9000 wall_s=2",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=10000 wall_s=2",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=11000 wall_s=2",
            "bullmq throughput c=8 jobs=20000 jobs_per_s=5000 wall_s=2");
    String ratio = lineStarting(out, "ratio throughput c=64 deployment=jvm");
    assertTrue(ratio.contains("bullmq=10000.0000"), ratio);
    assertTrue(ratio.contains("advantage=50.0x"), ratio);
    assertEquals(
        "target throughput_c64_jvm want=>=100x_bullmq got=50.0000x met=no",
        lineStarting(out, "target throughput_c64_jvm"));
  }

  @Test
  void latencyAndTreesCountLowerAsBetter() {
    List<String> out =
        compare(
            "ours latency mode=sequential c=1 deployment=jvm tasks=2000 p50_ms=0.02 p90_ms=0.03 p99_ms=0.05 max_ms=2",
            "bullmq latency mode=sequential c=1 jobs=1980 p50_ms=0.80 p90_ms=1.2 p99_ms=4.00 max_ms=9",
            "ours sched mode=flow c=8 leaves=64 deployment=jvm tasks=127 trees=10 work_ms=10.00 median_ms=190 ratio=1.0556",
            "bullmq tree mode=events leaves=64 c=8 median_ms=45 aof=off",
            "bullmq tree mode=events leaves=64 c=8 median_ms=250 aof=off work_ms=10",
            "ours tree mode=flow c=8 leaves=64 deployment=jvm tasks=127 trees=10 median_ms=1.5");
    assertTrue(
        lineStarting(out, "ratio latency mode=sequential c=1 deployment=jvm metric=p99_ms")
            .contains("advantage=80.0x"));
    assertTrue(
        lineStarting(out, "ratio tree mode=flow c=8 leaves=64 deployment=jvm vs=bullmq_events")
            .contains("advantage=30.0x"),
        "the tree is compared with the baseline's tree without simulated work");
    assertTrue(
        lineStarting(
                out,
                "ratio sched mode=flow c=8 leaves=64 work_ms=10.00 deployment=jvm vs=bullmq_events")
            .contains("bullmq=250.0000"),
        "the timed tree is compared with the baseline's run at the same work_ms");
    assertEquals(
        "target latency_p99_jvm want=<=0.1ms got=0.0500ms met=yes",
        lineStarting(out, "target latency_p99_jvm"));
    assertEquals(
        "target tree_jvm want=<=2ms got=1.5000ms met=yes", lineStarting(out, "target tree_jvm"));
    assertEquals(
        "target sched_vs_ideal_flow_work_10.00ms want=<=1.05 got=1.0556 met=no",
        lineStarting(out, "target sched_vs_ideal"));
  }

  @Test
  void plainTcpLinesAreCostLinesBesideTheShippedTlsAndNeverJudged() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=cluster tasks=20000 tasks_per_s=60000 journal=none metrics=on tls=on",
            "ours throughput c=64 deployment=cluster tasks=20000 tasks_per_s=80000 journal=none metrics=on tls=off",
            "ours throughput c=64 deployment=cluster tasks=20000 tasks_per_s=70000 journal=none metrics=on tls=on",
            "ours throughput c=64 deployment=cluster tasks=20000 tasks_per_s=90000 journal=none metrics=on tls=off",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=5000 wall_s=2");
    assertEquals(
        "cost throughput c=64 deployment=cluster tasks=20000 journal=none metrics=on tls=off "
            + "metric=tasks_per_s with=85000.0000 plain=65000.0000 with_over_plain=1.3077",
        lineStarting(out, "cost throughput c=64 deployment=cluster"));
    assertEquals(
        "target throughput_c64_cluster want=>=20x_bullmq got=13.0000x met=no",
        lineStarting(out, "target throughput_c64_cluster"),
        "judged on the TLS lines, as shipped");
  }

  @Test
  void theCrossProcessP99IsJudgedAgainstBarePekkoOfTheSameRunAndOneJvmAgainstAMillion() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=jvm tasks=20000 tasks_per_s=900000",
            "ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=3.1",
            "bare roundtrip mode=ask c=1 deployment=two-jvm tasks=2000 runs=5 p50_ms=0.2 p99_ms=3.4",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=5000");
    assertEquals(
        "target latency_p99_cluster want=<=bare_pekko_tcp_p99_3.4000ms got=3.1000ms met=yes",
        lineStarting(out, "target latency_p99_cluster"));
    assertEquals(
        "target throughput_c64_jvm_tasks_per_s want=>=1000000 got=900000.0000 met=no",
        lineStarting(out, "target throughput_c64_jvm_tasks_per_s"));
    assertEquals(
        List.of(),
        out.stream().filter(l -> l.startsWith("target latency_p99_cluster_paired")).toList(),
        "no paired figures in the line: no paired target");
    assertEquals(
        "target latency_p99_cluster_paired want=<=1x_bare_same_jvms got=1.2000x met=no",
        lineStarting(
            compare(
                "ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=1.2"
                    + " bare_p99_ms=1.0 p99_over_bare=1.2"),
            "target latency_p99_cluster_paired"),
        "the ratio to the bare transport timed in the same JVMs, run by run");
    assertEquals(
        "target latency_p99_cluster want=<=1.0ms got=3.1000ms met=no",
        lineStarting(
            compare("ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=3.1"),
            "target latency_p99_cluster"),
        "without a bare line in the run: the earlier 1 ms");
  }

  @Test
  void aTargetLineSaysHowMuchTheHypervisorStoleWhileItsFigureWasMeasured() {
    List<String> out =
        compare(
            "ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=1.2"
                + " bare_p99_ms=1.0 p99_over_bare=1.2 steal_pct=31",
            "bare roundtrip mode=ask c=1 deployment=two-jvm transport=tls-tcp tls=on tasks=2000"
                + " runs=5 p50_ms=0.4 p99_ms=0.8 steal_pct=2",
            "ours tree mode=flow c=8 leaves=64 deployment=cluster tasks=127 trees=10 median_ms=4.0");
    assertEquals(
        "target latency_p99_cluster want=<=bare_pekko_tls_p99_0.8000ms got=1.2000ms met=no"
            + " steal_pct=31 bare_steal_pct=2",
        lineStarting(out, "target latency_p99_cluster "));
    assertEquals(
        "target latency_p99_cluster_paired want=<=1x_bare_same_jvms got=1.2000x met=no"
            + " steal_pct=31",
        lineStarting(out, "target latency_p99_cluster_paired"));
    assertEquals(
        "target tree_cluster want=<=10ms got=4.0000ms met=yes",
        lineStarting(out, "target tree_cluster"),
        "a line without the figure: nothing added");
  }

  @Test
  void disturbedBaselineRunsAreLeftOutWhenQuietOnesExist() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=jvm tasks_per_s=600000",
            "bullmq throughput c=64 jobs_per_s=4000 other_cpu_pct=66",
            "bullmq throughput c=64 jobs_per_s=10000 other_cpu_pct=1",
            "bullmq throughput c=64 jobs_per_s=12000 other_cpu_pct=0");
    String ratio = lineStarting(out, "ratio throughput c=64");
    assertTrue(
        ratio.contains("bullmq=11000.0000")
            && ratio.contains("bullmq_runs=2 bullmq_disturbed_dropped=1"),
        ratio);
  }

  @Test
  void aSmokeRunsSmallerSizesAreNotJudged() {
    List<String> out =
        compare(
            "ours pending-heap mode=flow deployment=jvm tasks=10000 heap_mb=5 used_heap_mb=14.8",
            "ours tree mode=flow c=4 leaves=8 deployment=jvm tasks=15 trees=2 median_ms=3.4");
    assertEquals(
        "target pending_1m_heap want=<=512MB got=14.8000MB met=not_judged(smaller_sizes_than_the_issue's)",
        lineStarting(out, "target pending_1m_heap"));
    assertTrue(
        lineStarting(out, "target tree_jvm")
            .endsWith("met=not_judged(smaller_sizes_than_the_issue's)"));
  }

  @Test
  void skippedMeasurementsAreReportedAsSkippedTargets() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=cluster tasks=20000 skipped reason=not_yet",
            "ours join deployment=cluster from=member_up skipped reason=not_yet",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=10000");
    assertEquals(
        "target throughput_c64_cluster want=>=20x_bullmq got=- met=skipped",
        lineStarting(out, "target throughput_c64_cluster"));
    assertEquals(
        "target join_ready_after_up want=<=100ms got=- met=skipped",
        lineStarting(out, "target join_ready_after_up"));
    assertTrue(
        out.stream().noneMatch(l -> l.startsWith("ratio throughput c=64 deployment=cluster")));
  }

  @Test
  void theCrossProcessP99IsJudgedAgainstBarePekkoOverTlsWhenTheRunMeasuredBoth() {
    List<String> out =
        compare(
            "ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=3.8 tls=on",
            "bare roundtrip mode=ask c=1 deployment=two-jvm transport=tcp tls=off tasks=2000 runs=5 "
                + "p50_ms=0.2 p99_ms=3.7",
            "bare roundtrip mode=ask c=1 deployment=two-jvm transport=tls-tcp tls=on tasks=2000 "
                + "runs=5 p50_ms=0.3 p99_ms=4.1",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=5000");
    assertEquals(
        "target latency_p99_cluster want=<=bare_pekko_tls_p99_4.1000ms got=3.8000ms met=yes",
        lineStarting(out, "target latency_p99_cluster"),
        "the framework over TLS against bare Pekko over TLS, not over plain TCP");
  }

  @Test
  void theBareWindowLinesBoundTheCrossProcessThroughputAndAreNotTheLatencyFloor() {
    List<String> out =
        compare(
            "ours throughput c=64 deployment=cluster tasks=100000 tasks_per_s=100000",
            "ours latency mode=sequential c=1 deployment=cluster tasks=2000 p99_ms=0.9",
            "bare roundtrip mode=ask c=1 deployment=two-jvm transport=tls-tcp tls=on tasks=2000 "
                + "runs=5 p50_ms=0.3 p99_ms=0.8",
            "bare roundtrip mode=window c=1 deployment=two-jvm transport=tls-tcp tls=on tasks=5000"
                + " runs=5 trips_per_s=2500 tasks_per_message=64 tasks_per_s=160000",
            "bare roundtrip mode=window c=64 deployment=two-jvm transport=tls-tcp tls=on"
                + " tasks=20000 runs=5 trips_per_s=50000 tasks_per_message=1 tasks_per_s=50000",
            "bare roundtrip mode=window c=8 deployment=two-jvm transport=tls-tcp tls=on"
                + " tasks=20000 runs=5 trips_per_s=9000 tasks_per_message=1 tasks_per_s=9000",
            "bare roundtrip mode=window c=8 deployment=two-jvm transport=tls-tcp tls=on"
                + " tasks=20000 runs=5 trips_per_s=12500 tasks_per_message=16 tasks_per_s=200000",
            "bullmq throughput c=64 jobs=20000 jobs_per_s=5000");
    assertEquals(
        "target latency_p99_cluster want=<=bare_pekko_tls_p99_0.8000ms got=0.9000ms met=no",
        lineStarting(out, "target latency_p99_cluster"),
        "the window lines, later in the file, are not taken for the latency floor");
    assertEquals(
        List.of(
            "bound throughput_c64_cluster bare=1x64_in_flight tls=on bare_tasks_per_s=160000"
                + " got=100000 got_over_bare=0.625",
            "bound throughput_c64_cluster bare=64x1_in_flight tls=on bare_tasks_per_s=50000"
                + " got=100000 got_over_bare=2.000",
            "bound throughput_c64_cluster bare=8x16_in_flight tls=on bare_tasks_per_s=200000"
                + " got=100000 got_over_bare=0.500"),
        out.stream().filter(l -> l.startsWith("bound ")).toList(),
        "one line per window of 64 or more tasks in flight, none for the window of 8 tasks");
  }
}
