package dev.pekkoprover.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Puts our figures beside the BullMQ baseline's from the same run and prints the ratios, then
 * checks the targets of the benchmark issue. Reads any number of files with {@code ours ...} and
 * {@code bullmq ...} lines (other lines are ignored); several lines of one measurement (several
 * baseline runs) count by their median.
 *
 * <p>Output, one line each: {@code ratio <workload> <ids> metric=<m> ours=<x> bullmq=<y>
 * ours_over_bullmq=<x/y> advantage=<n>x bullmq_runs=<k>}, where {@code advantage} is how many times
 * better ours is (higher throughput, lower time) and the baseline's figure is the median of its
 * undisturbed runs; and {@code target <name> want=<...> got=<...> met=yes|no|skipped}.
 *
 * <pre>{@code java -cp bench/target/bench.jar dev.pekkoprover.bench.Ratios ours.txt bullmq.txt}
 * </pre>
 */
public final class Ratios {
  private Ratios() {}

  /**
   * One result line: its source (ours, bullmq), kind (throughput, latency...) and its key=value
   * fields.
   */
  record Result(String source, String kind, Map<String, String> fields) {
    String get(String key) {
      return fields.get(key);
    }

    double number(String key) {
      String value = fields.get(key);
      try {
        return value == null ? Double.NaN : Double.parseDouble(value);
      } catch (NumberFormatException e) {
        return Double.NaN;
      }
    }

    boolean has(String key, String value) {
      return Objects.equals(fields.get(key), value);
    }

    boolean skipped() {
      return fields.containsKey("skipped") || fields.containsKey("error");
    }
  }

  public static void main(String[] args) throws IOException {
    List<String> lines = new ArrayList<>();
    for (String file : args) {
      lines.addAll(Files.readAllLines(Path.of(file)));
    }
    compare(parse(lines), System.out::println);
  }

  static List<Result> parse(List<String> lines) {
    List<Result> results = new ArrayList<>();
    for (String line : lines) {
      String trimmed = line.trim();
      if (!trimmed.startsWith("ours ") && !trimmed.startsWith("bullmq ")) {
        continue;
      }
      String[] tokens = trimmed.split("\\s+");
      if (tokens.length < 2) {
        continue;
      }
      Map<String, String> fields = new LinkedHashMap<>();
      for (int i = 2; i < tokens.length; i++) {
        int eq = tokens[i].indexOf('=');
        if (eq > 0) {
          fields.put(tokens[i].substring(0, eq), tokens[i].substring(eq + 1));
        } else {
          fields.put(tokens[i], "");
        }
      }
      results.add(new Result(tokens[0], tokens[1], fields));
    }
    return results;
  }

  /**
   * Fields that say what was measured (not how fast): lines equal in these are runs of one
   * measurement.
   */
  static final List<String> IDENTITY =
      List.of(
          "mode",
          "rate",
          "c",
          "leaves",
          "deployment",
          "tasks",
          "trees",
          "work_ms",
          "journal",
          "metrics",
          "tls");

  /**
   * Our journal (none when the line has no {@code journal=}): durable lines pair with the
   * baseline's AOF runs.
   */
  static String journal(Result r) {
    String journal = r.get("journal");
    return journal == null ? "none" : journal;
  }

  static boolean metricsOff(Result r) {
    return r.has("metrics", "off");
  }

  /**
   * A cross-process line over plain TCP ({@code --tls off}); the shipped cluster runs mutual TLS.
   */
  static boolean tlsOff(Result r) {
    return r.has("tls", "off");
  }

  /**
   * Our line in the shipped set-up: no journal, metrics on, TLS between processes (what the targets
   * are about).
   */
  static boolean plain(Result r) {
    return journal(r).equals("none") && !metricsOff(r) && !tlsOff(r);
  }

  /**
   * The baseline's persistence matching ours: a durable line (journal h2 or postgres) against Redis
   * with AOF ({@code aof=on-everysec}), an in-memory one against Redis without persistence ({@code
   * aof=off}, or no aof field).
   */
  private static boolean samePersistence(Result ours, Result bullmq) {
    String aof = bullmq.get("aof");
    boolean durable = aof != null && aof.startsWith("on");
    return durable == !journal(ours).equals("none");
  }

  /**
   * What tells a durable or metrics-off line apart in a ratio line's ids; empty for a plain line.
   */
  private static String setupIds(Result r) {
    return (journal(r).equals("none") ? "" : " journal=" + journal(r) + " vs=bullmq_aof")
        + (metricsOff(r) ? " metrics=off" : "")
        + (tlsOff(r) ? " tls=off" : "");
  }

  /**
   * Several lines of one measurement (the same {@link #IDENTITY}, e.g. rounds of an interleaved
   * run) as one: each numeric field the median of theirs, {@code lines} how many.
   */
  static List<Result> merged(List<Result> lines) {
    Map<String, List<Result>> groups = new LinkedHashMap<>();
    for (Result r : lines) {
      StringBuilder key = new StringBuilder(r.kind());
      for (String id : IDENTITY) {
        key.append(' ')
            .append(id)
            .append('=')
            .append(
                id.equals("journal")
                    ? journal(r)
                    : id.equals("metrics")
                        ? (metricsOff(r) ? "off" : "on")
                        : id.equals("tls") ? (tlsOff(r) ? "off" : "on") : r.get(id));
      }
      groups.computeIfAbsent(key.toString(), k -> new ArrayList<>()).add(r);
    }
    List<Result> out = new ArrayList<>();
    for (List<Result> group : groups.values()) {
      if (group.size() == 1) {
        out.add(group.get(0));
        continue;
      }
      Map<String, String> fields = new LinkedHashMap<>(group.get(group.size() - 1).fields());
      for (Map.Entry<String, String> field : fields.entrySet()) {
        if (IDENTITY.contains(field.getKey())) {
          continue;
        }
        double[] values = group.stream().mapToDouble(g -> g.number(field.getKey())).toArray();
        if (java.util.Arrays.stream(values).allMatch(Double::isFinite)) {
          field.setValue(Line.format(Line.median(values), 4));
        }
      }
      fields.put("lines", String.valueOf(group.size()));
      out.add(new Result(group.get(0).source(), group.get(0).kind(), fields));
    }
    return out;
  }

  /**
   * Prints the ratio lines, the cost lines (a journal or metrics off against the plain set-up) and
   * the targets.
   */
  static void compare(List<Result> results, Consumer<String> out) {
    List<Result> ours =
        merged(results.stream().filter(r -> r.source().equals("ours") && !r.skipped()).toList());
    List<Result> bullmq =
        results.stream().filter(r -> r.source().equals("bullmq") && !r.skipped()).toList();
    for (Result r : ours) {
      switch (r.kind()) {
        case "throughput" ->
            ratio(
                out,
                r,
                "tasks_per_s",
                bullmq,
                b ->
                    b.kind().equals("throughput")
                        && b.has("c", r.get("c"))
                        && samePersistence(r, b),
                "jobs_per_s",
                true,
                "c=" + r.get("c") + " deployment=" + r.get("deployment") + setupIds(r));
        case "latency" -> {
          Predicate<Result> same =
              b ->
                  b.kind().equals("latency")
                      && b.has("mode", r.get("mode"))
                      && b.has("c", r.get("c"))
                      && (!"paced".equals(r.get("mode")) || b.has("rate", r.get("rate")))
                      && samePersistence(r, b);
          String ids =
              "mode="
                  + r.get("mode")
                  + (r.get("rate") == null ? "" : " rate=" + r.get("rate"))
                  + " c="
                  + r.get("c")
                  + " deployment="
                  + r.get("deployment")
                  + setupIds(r);
          for (String metric : List.of("p50_ms", "p90_ms", "p99_ms", "max_ms")) {
            ratio(out, r, metric, bullmq, same, metric, false, ids);
          }
        }
        case "tree", "sched" -> {
          boolean timed = r.kind().equals("sched");
          // ours mode=flow (the framework's own tree) against both of the baseline's; ours
          // mode=pairs is the
          // baseline's events algorithm, so against that one
          for (String mode :
              r.has("mode", "pairs") ? List.of("events") : List.of("events", "flow")) {
            Predicate<Result> same =
                b ->
                    b.kind().equals("tree")
                        && b.has("mode", mode)
                        && b.has("c", r.get("c"))
                        && b.has("leaves", r.get("leaves"))
                        && samePersistence(r, b)
                        && (timed
                            ? sameNumber(b.number("work_ms"), r.number("work_ms"))
                            : !b.fields().containsKey("work_ms") || b.number("work_ms") == 0);
            ratio(
                out,
                r,
                "median_ms",
                bullmq,
                same,
                "median_ms",
                false,
                "mode="
                    + r.get("mode")
                    + " c="
                    + r.get("c")
                    + " leaves="
                    + r.get("leaves")
                    + (timed ? " work_ms=" + r.get("work_ms") : "")
                    + " deployment="
                    + r.get("deployment")
                    + setupIds(r).replace(" vs=bullmq_aof", " aof=on")
                    + " vs=bullmq_"
                    + mode);
          }
        }
        default -> {}
      }
    }
    costs(ours, out);
    targets(ours, bullmq, out);
  }

  /**
   * Ours against ours: each durable, metrics-off or tls-off line beside the plain line of the same
   * measurement, {@code cost <kind> <ids> metric=<m> with=<x> plain=<y> with_over_plain=<x/y>}.
   */
  private static void costs(List<Result> ours, Consumer<String> out) {
    for (Result r : ours) {
      if (plain(r)) {
        continue;
      }
      String metric =
          switch (r.kind()) {
            case "throughput" -> "tasks_per_s";
            case "tree", "sched" -> "median_ms";
            case "latency" -> "p50_ms";
            default -> null;
          };
      if (metric == null) {
        continue;
      }
      Result base = null;
      for (Result p : ours) {
        if (plain(p)
            && p.kind().equals(r.kind())
            && IDENTITY.stream()
                .filter(id -> !id.equals("journal") && !id.equals("metrics") && !id.equals("tls"))
                .allMatch(id -> p.has(id, r.get(id)))) {
          base = p;
        }
      }
      if (base == null
          || !Double.isFinite(base.number(metric))
          || !Double.isFinite(r.number(metric))) {
        continue;
      }
      StringBuilder ids = new StringBuilder();
      for (String id : IDENTITY) {
        if (r.get(id) != null) {
          ids.append(' ').append(id).append('=').append(r.get(id));
        }
      }
      out.accept(
          "cost "
              + r.kind()
              + ids
              + " metric="
              + metric
              + " with="
              + Line.format(r.number(metric), 4)
              + " plain="
              + Line.format(base.number(metric), 4)
              + " with_over_plain="
              + Line.format(r.number(metric) / base.number(metric), 4));
    }
  }

  private static boolean sameNumber(double a, double b) {
    return Double.isFinite(a) && Double.isFinite(b) && Math.abs(a - b) < 1e-9;
  }

  private static void ratio(
      Consumer<String> out,
      Result r,
      String metric,
      List<Result> bullmq,
      Predicate<Result> same,
      String theirMetric,
      boolean higherIsBetter,
      String ids) {
    List<Result> matching = bullmq.stream().filter(same).toList();
    List<Result> quiet = undisturbed(matching);
    double theirs = median(quiet.stream().mapToDouble(b -> b.number(theirMetric)).toArray());
    double mine = r.number(metric);
    if (!Double.isFinite(theirs) || !Double.isFinite(mine)) {
      return;
    }
    double over = mine / theirs;
    double advantage = higherIsBetter ? over : theirs / mine;
    out.accept(
        "ratio "
            + r.kind()
            + " "
            + ids
            + " metric="
            + metric
            + " ours="
            + Line.format(mine, 4)
            + " bullmq="
            + Line.format(theirs, 4)
            + " ours_over_bullmq="
            + Line.format(over, 4)
            + " advantage="
            + Line.format(advantage, 1)
            + "x bullmq_runs="
            + quiet.size()
            + (quiet.size() < matching.size()
                ? " bullmq_disturbed_dropped=" + (matching.size() - quiet.size())
                : ""));
  }

  /**
   * The targets: each as want/got/met, or skipped when the measurement is missing or
   * skipped.
   */
  private static void targets(List<Result> ours, List<Result> bullmq, Consumer<String> out) {
    List<Result> results = ours.stream().filter(Ratios::plain).toList();
    Result plainC64 =
        results.stream()
            .filter(r -> r.kind().equals("throughput") && r.has("c", "64"))
            .findFirst()
            .orElse(null);
    double bullC64 = bullC64(bullmq, b -> plainC64 == null || samePersistence(plainC64, b));
    double bullAofC64 = bullC64(bullmq, b -> b.get("aof") != null && b.get("aof").startsWith("on"));
    // the durable path (issue 10): ours with a journal against BullMQ with Redis AOF, only when
    // measured
    for (String journal : List.of("h2", "postgres")) {
      Result tp = null;
      for (Result r : ours) {
        if (r.kind().equals("throughput")
            && r.has("c", "64")
            && r.has("deployment", "jvm")
            && r.has("journal", journal)
            && !metricsOff(r)) {
          tp = r;
        }
      }
      if (tp != null) {
        target(
            out,
            "throughput_c64_jvm_" + journal,
            ">=10x_bullmq_aof",
            Double.isFinite(bullAofC64) ? tp.number("tasks_per_s") / bullAofC64 : Double.NaN,
            10,
            true,
            "x",
            tp);
      }
    }
    for (String deployment : List.of("jvm", "cluster")) {
      double want = deployment.equals("jvm") ? 100 : 10;
      Result tp = find(results, "throughput", deployment, r -> r.has("c", "64"));
      target(
          out,
          "throughput_c64_" + deployment,
          ">=" + (int) want + "x_bullmq",
          tp == null || !Double.isFinite(bullC64) ? Double.NaN : tp.number("tasks_per_s") / bullC64,
          want,
          true,
          "x",
          tp);
      Result seq = find(results, "latency", deployment, r -> r.has("mode", "sequential"));
      double p99Want = deployment.equals("jvm") ? 0.1 : 1;
      atMostMs(out, "latency_p99_" + deployment, "<=" + p99Want + "ms", p99Want, seq, "p99_ms");
      Result tree = find(results, "tree", deployment, r -> r.has("mode", "flow"));
      double treeWant = deployment.equals("jvm") ? 2 : 10;
      atMostMs(
          out, "tree_" + deployment, "<=" + (int) treeWant + "ms", treeWant, tree, "median_ms");
    }
    List<Result> scheds =
        results.stream()
            .filter(
                r ->
                    r.source().equals("ours")
                        && r.kind().equals("sched")
                        && r.has("deployment", "jvm"))
            .toList();
    if (scheds.isEmpty()) {
      target(out, "sched_vs_ideal", "<=1.05", Double.NaN, 1.05, false, "", null);
    }
    for (Result sched : scheds) {
      target(
          out,
          "sched_vs_ideal_" + sched.get("mode") + "_work_" + sched.get("work_ms") + "ms",
          "<=1.05",
          sched.number("ratio"),
          1.05,
          false,
          "",
          sched);
    }
    Result fleet = find(results, "fleet", "jvm", r -> true);
    target(
        out,
        "fleet_ready",
        "<=1000ms",
        fleet == null ? Double.NaN : fleet.number("ready_ms"),
        1000,
        false,
        "ms",
        fleet);
    Result join = find(results, "join", "cluster", r -> true);
    target(
        out,
        "join_ready_after_up",
        "<=100ms",
        join == null ? Double.NaN : join.number("ready_ms"),
        100,
        false,
        "ms",
        join);
    Result pending = find(results, "pending-heap", "jvm", r -> r.has("mode", "flow"));
    target(
        out,
        "pending_1m_heap",
        "<=512MB",
        pending == null ? Double.NaN : pending.number("used_heap_mb"),
        512,
        false,
        "MB",
        pending);
  }

  private static Result find(
      List<Result> results, String kind, String deployment, Predicate<Result> more) {
    Result found = null;
    for (Result r : results) {
      if (r.source().equals("ours")
          && r.kind().equals(kind)
          && r.has("deployment", deployment)
          && more.test(r)) {
        found = r; // the last one wins, as in a file appended by several runs
      }
    }
    return found;
  }

  /**
   * The sizes per workload; a target is judged only on a measurement of these (not on a
   * --quick run).
   */
  private static final Map<String, Map<String, String>> FULL_SIZE =
      Map.of(
          "throughput", Map.of("tasks", "20000"),
          "latency", Map.of("tasks", "2000"),
          "tree", Map.of("leaves", "64", "trees", "10", "c", "8"),
          "sched", Map.of("leaves", "64", "trees", "10", "c", "8"),
          "fleet", Map.of("workers", "100"),
          "pending-heap", Map.of("tasks", "1000000"));

  private static boolean fullSize(Result result) {
    for (Map.Entry<String, String> size :
        FULL_SIZE.getOrDefault(result.kind(), Map.of()).entrySet()) {
      if (!size.getValue().equals(result.get(size.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The median of BullMQ's undisturbed c=64 throughputs (jobs/s) among those {@code which} accepts;
   * NaN when there are none.
   */
  private static double bullC64(List<Result> bullmq, java.util.function.Predicate<Result> which) {
    return median(
        undisturbed(
                bullmq.stream()
                    .filter(b -> b.kind().equals("throughput") && b.has("c", "64") && which.test(b))
                    .toList())
            .stream()
            .mapToDouble(b -> b.number("jobs_per_s"))
            .toArray());
  }

  /**
   * A target of at most {@code limit} ms on {@code field} of {@code result} (null: not measured).
   */
  private static void atMostMs(
      Consumer<String> out, String name, String want, double limit, Result result, String field) {
    target(
        out,
        name,
        want,
        result == null ? Double.NaN : result.number(field),
        limit,
        false,
        "ms",
        result);
  }

  private static void target(
      Consumer<String> out,
      String name,
      String want,
      double got,
      double limit,
      boolean atLeast,
      String unit,
      Result result) {
    String met;
    if (result == null || result.skipped() || !Double.isFinite(got)) {
      met = "skipped";
    } else if (!fullSize(result)) {
      met = "not_judged(smaller_sizes_than_the_issue's)";
    } else {
      met = (atLeast ? got >= limit : got <= limit) ? "yes" : "no";
    }
    out.accept(
        "target "
            + name
            + " want="
            + want
            + " got="
            + (Double.isFinite(got) ? Line.format(got, 4) + unit : "-")
            + " met="
            + met);
  }

  /**
   * The baseline's measurements taken while other processes used at most {@link
   * #MAX_OTHER_CPU_PCT}% of a core (its {@code other_cpu_pct}), as its own summarize.mjs
   * --max-other does; all of them when none was that quiet.
   */
  static List<Result> undisturbed(List<Result> measurements) {
    List<Result> quiet =
        measurements.stream()
            .filter(b -> !(b.number("other_cpu_pct") > MAX_OTHER_CPU_PCT))
            .toList();
    return quiet.isEmpty() ? measurements : quiet;
  }

  /** Foreign CPU load (% of one core) above which a baseline measurement counts as disturbed. */
  static final double MAX_OTHER_CPU_PCT = 20;

  private static double median(double[] values) {
    double[] finite = java.util.Arrays.stream(values).filter(Double::isFinite).toArray();
    return Line.median(finite);
  }
}
