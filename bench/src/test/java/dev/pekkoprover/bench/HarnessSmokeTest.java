package dev.pekkoprover.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Runs every workload with tiny sizes: each prints its line, and none fails (the harness checks
 * trees' roots). About 40 s, so it runs only with {@code -Pbench-smoke} ({@code .ci/run} does), not
 * in every {@code mvn verify}.
 */
@Tag("bench-smoke")
class HarnessSmokeTest {

  private static List<Result> run(String... args) {
    List<String> lines = new ArrayList<>();
    boolean ok = Harness.run(Options.parse(args), lines::add);
    assertTrue(ok, "a workload failed: " + lines);
    assertTrue(lines.get(0).startsWith("# ours harness "), lines.get(0));
    return Ratios.parse(lines);
  }

  private static Result only(List<Result> results, String kind, String key, String value) {
    List<Result> found =
        results.stream()
            .filter(r -> r.kind().equals(kind) && (key == null || r.has(key, value)))
            .toList();
    assertEquals(1, found.size(), kind + " " + key + "=" + value + " in " + results);
    return found.get(0);
  }

  @Test
  void everyOneJvmWorkloadPrintsItsMeasurement() {
    List<Result> results =
        run(
            "all",
            "pending-heap",
            "--quick",
            "--conc",
            "1,4",
            "--lat-conc",
            "1,2",
            "--pending",
            "2000");
    assertTrue(only(results, "throughput", "c", "4").number("tasks_per_s") > 0);
    assertTrue(only(results, "throughput", "c", "1").number("tasks_per_s") > 0);
    Result sequential = only(results, "latency", "mode", "sequential");
    assertTrue(sequential.number("p50_ms") <= sequential.number("p99_ms"));
    assertEquals(
        2,
        results.stream().filter(r -> r.kind().equals("latency") && r.has("mode", "paced")).count());
    assertTrue(only(results, "tree", "mode", "flow").number("median_ms") > 0);
    assertTrue(only(results, "tree", "mode", "pairs").number("median_ms") > 0);
    for (String mode : List.of("flow", "pairs")) {
      Result sched = only(results, "sched", "mode", mode);
      assertTrue(sched.number("ratio") >= 1.0, "no schedule beats the optimal one: " + sched);
      assertEquals(5.0, sched.number("ideal_steps"), "8 leaves on 4 slots");
    }
    assertTrue(only(results, "fleet", null, null).number("ready_ms") > 0);
    assertTrue(only(results, "join", null, null).number("ready_ms") > 0);
    Result queue = only(results, "pending-heap", "mode", "queue");
    assertEquals("2000", queue.get("tasks"));
    assertTrue(queue.number("heap_mb") > 0, "2,000 pending tasks take some heap: " + queue);
    assertTrue(results.stream().allMatch(r -> r.has("deployment", "jvm")));
  }

  @Test
  void theClusterDeploymentRunsTheWorkerInAProcessOfItsOwnAndLeavesNoProcessBehind() {
    List<Result> results =
        run(
            "throughput",
            "latency",
            "join",
            "--quick",
            "--deployment",
            "cluster",
            "--conc",
            "4",
            "--tasks",
            "200",
            "--lat-conc",
            "1");
    Result throughput = only(results, "throughput", "c", "4");
    assertTrue(throughput.number("tasks_per_s") > 0, throughput.toString());
    assertTrue(
        throughput.number("worker_cpu_pct") > 0, "the worker process did the work: " + throughput);
    assertTrue(throughput.number("steal_pct") >= 0, "the hypervisor's steal: " + throughput);
    // paired with the bare transport in the same two JVMs, block by block
    Result sequential = only(results, "latency", "mode", "sequential");
    assertTrue(
        sequential.number("bare_p50_ms") > 0
            && sequential.number("bare_p50_ms") <= sequential.number("bare_p99_ms")
            && sequential.number("p99_over_bare") > 0
            && sequential.number("pooled_p99_over_bare") > 0,
        sequential.toString());
    Result join = only(results, "join", "from", "member_up");
    assertTrue(
        Double.isFinite(join.number("ready_ms")) && join.number("launch_to_up_ms") > 0,
        join.toString());
    assertTrue(results.stream().allMatch(r -> r.has("deployment", "cluster")));
    assertEquals(
        0,
        ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(),
        "every worker process is gone");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tcp", "tls-tcp"})
  void theBareRoundTripMeasuresAnEchoInAJvmOfItsOwnOverEitherTransport(String transport)
      throws Exception {
    List<String> lines = new ArrayList<>();
    BareRoundTrip.run(new BareRoundTrip.Settings(50, 2, transport, 0, 1, 0), lines::add);
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("# bare roundtrip run=1 "), lines.get(0));
    String summary = lines.get(2);
    String tls = transport.equals("tls-tcp") ? "on" : "off";
    assertTrue(
        summary.startsWith(
            "bare roundtrip mode=ask c=1 deployment=two-jvm transport="
                + transport
                + " tls="
                + tls
                + " tasks=50 runs=2 warmup_runs=3 jit_quiet=unchecked "),
        summary);
    double p50 = Double.parseDouble(summary.replaceAll(".* p50_ms=([0-9.]+).*", "$1"));
    double p99 = Double.parseDouble(summary.replaceAll(".* p99_ms=([0-9.]+).*", "$1"));
    assertTrue(p50 > 0 && p50 <= p99, summary);
    assertTrue(
        Double.parseDouble(summary.replaceAll(".* steal_pct=([0-9.]+).*", "$1")) >= 0,
        "the hypervisor's steal over the measured runs: " + summary);
  }

  @Test
  void withClusterTheTwoBareJvmsAreJoinedMembersAndTheLineSaysSo() throws Exception {
    List<String> lines = new ArrayList<>();
    BareRoundTrip.run(new BareRoundTrip.Settings(50, 2, "tcp", 0, 1, 0, true), lines::add);
    assertEquals(3, lines.size(), lines.toString());
    String summary = lines.get(2);
    assertTrue(
        summary.startsWith(
            "bare roundtrip mode=ask c=1 deployment=two-jvm provider=cluster transport=tcp tls=off"
                + " tasks=50 runs=2 "),
        summary);
    double p99 = Double.parseDouble(summary.replaceAll(".* p99_ms=([0-9.]+).*", "$1"));
    assertTrue(p99 > 0, summary);
    assertEquals(
        0,
        ProcessHandle.current().children().filter(ProcessHandle::isAlive).count(),
        "the echo process is gone");
  }

  @Test
  void theBareWindowKeepsSeveralPingsInFlightAndCountsTripsPerSecond() throws Exception {
    List<String> lines = new ArrayList<>();
    BareRoundTrip.run(new BareRoundTrip.Settings(500, 2, "tcp", 16, 4, 0), lines::add);
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("# bare roundtrip window run=1 trips_per_s="), lines.get(0));
    String summary = lines.get(2);
    assertTrue(
        summary.startsWith(
            "bare roundtrip mode=window c=16 deployment=two-jvm transport=tcp tls=off tasks=500"
                + " runs=2 warmup_runs=3 jit_quiet=unchecked trips_per_s="),
        summary);
    double rate = Double.parseDouble(summary.replaceAll(".* trips_per_s=([0-9.]+) .*", "$1"));
    double min = Double.parseDouble(summary.replaceAll(".* trips_per_s_min=([0-9.]+) .*", "$1"));
    double tasks = Double.parseDouble(summary.replaceAll(".* tasks_per_s=([0-9.]+) .*", "$1"));
    assertTrue(rate > 0 && min <= rate, summary);
    assertTrue(summary.contains(" tasks_per_message=4 "), summary);
    assertEquals(4 * rate, tasks, 4.0, "four tasks ride each trip: " + summary);
  }
}
