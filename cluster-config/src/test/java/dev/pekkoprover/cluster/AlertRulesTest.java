package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The alerting rules shipped in {@code deploy/prometheus/prover-alerts.yml}. Prometheus's own
 * {@code promtool} checks them and runs their unit tests ({@code prover-alerts.test.yml}: each
 * alert fires on the series it is meant for, with its labels and figures, and stays silent on the
 * normal look-alikes), and every series they read, with every label value they match, is in the
 * {@code /metrics} of a live node running the whole fleet in one JVM (the appchain service, its
 * sequencer, queue and workers). So a metric or reason renamed in the code cannot leave a rule
 * reading nothing, which no error would ever show.
 */
@ExtendWith(LogCapturingExtension.class)
class AlertRulesTest {
  private static final Path DIRECTORY = Path.of("..", "deploy", "prometheus");
  private static final Path RULES = DIRECTORY.resolve("prover-alerts.yml");
  private static final Path RULE_TESTS = DIRECTORY.resolve("prover-alerts.test.yml");

  /** A selector of one of our series, with its label matchers if any. */
  private static final Pattern SELECTOR =
      Pattern.compile("\\b(prover_[a-z_]+)(?:\\s*\\{([^}]*)\\})?");

  private static final Pattern MATCHER =
      Pattern.compile("([a-z_]+)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");

  private static final Pattern ALERT = Pattern.compile("^\\s*- alert: (\\w+)\\s*$");

  private static final Pattern EXPR_START = Pattern.compile("^\\s*expr:\\s*(.*)$");
  private static final Pattern RULE_KEY =
      Pattern.compile("^\\s*(for|labels|annotations|- alert|- record):.*$");

  @Test
  void promtoolChecksTheRulesAndEveryAlertHasAFiringUnitTest() throws Exception {
    Optional<Path> promtool = onPath("promtool");
    assumeTrue(
        promtool.isPresent(),
        "promtool is not installed (Debian: apt-get install --no-install-recommends prometheus);"
            + " .ci/run installs it");
    List<String> alerts = alerts();
    String checked = run(promtool.get(), "check", "rules", RULES.getFileName().toString());
    assertTrue(
        checked.contains("SUCCESS: " + alerts.size() + " rules found"),
        "promtool check rules:\n" + checked);
    String tested = run(promtool.get(), "test", "rules", RULE_TESTS.getFileName().toString());
    assertTrue(tested.contains("SUCCESS"), "promtool test rules:\n" + tested);

    // every alert has a unit test in which it fires (one that only expects silence proves little)
    String tests = Files.readString(RULE_TESTS, StandardCharsets.UTF_8);
    List<String> untested = new ArrayList<>();
    for (String alert : alerts) {
      Pattern firing =
          Pattern.compile(
              "alertname: " + alert + "\\s*\\n\\s*exp_alerts:\\s*\\n\\s*- exp_labels:",
              Pattern.MULTILINE);
      if (!firing.matcher(tests).find()) {
        untested.add(alert);
      }
    }
    assertEquals(List.of(), untested, "alerts without a unit test in which they fire");
  }

  /**
   * The shipped scrape configuration is valid, loads the rules, names the job the node-down rules
   * read, and its example targets carry the {@code role} label those rules split on (a trial's
   * planned scale-down of a worker node raised the critical ProverNodeDown from a static list).
   */
  @Test
  void theShippedPrometheusConfigurationLoadsTheRulesAndLabelsTheRoles() throws Exception {
    Optional<Path> promtool = onPath("promtool");
    assumeTrue(promtool.isPresent(), "promtool is not installed; .ci/run installs it");
    String checked = run(promtool.get(), "check", "config", "prometheus.yml");
    assertTrue(
        checked.contains("SUCCESS: 1 rule files found")
            && checked.contains("SUCCESS: " + alerts().size() + " rules found"),
        "promtool check config:\n" + checked);
    String config = Files.readString(DIRECTORY.resolve("prometheus.yml"), StandardCharsets.UTF_8);
    assertTrue(config.contains("- job_name: prover\n"), config);
    assertTrue(config.contains("- files: [prover-targets.json]"), config);
    com.fasterxml.jackson.databind.JsonNode groups =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(DIRECTORY.resolve("prover-targets.json").toFile());
    Set<String> roles = new java.util.TreeSet<>();
    for (com.fasterxml.jackson.databind.JsonNode group : groups) {
      assertTrue(group.get("targets").size() > 0, group.toString());
      roles.add(group.get("labels").get("role").asText());
    }
    assertEquals(Set.of("stateful", "worker"), roles);
    String rules = Files.readString(RULES, StandardCharsets.UTF_8);
    assertTrue(rules.contains("up{job=\"prover\", role!=\"worker\"}"), "ProverNodeDown");
    assertTrue(rules.contains("up{job=\"prover\", role=\"worker\"}"), "ProverWorkerNodeDown");
  }

  @Test
  void everySeriesTheRulesReadIsExportedByALiveNode() throws Exception {
    Map<String, Set<String>> wanted = seriesTheRulesRead();
    assertTrue(wanted.size() >= 10, "the rules read our series: " + wanted);
    // exported by a node that runs TLS only, which this in-process node does not: TlsFilesSwapIT
    // reads them from a cluster node's /metrics
    for (String tlsOnly : TlsFilesSwapIT.TLS_SERIES) {
      assertTrue(wanted.remove(tlsOnly) != null, tlsOnly + " is read by a rule");
    }
    // the autoscaling signal every second rather than every 10 s, so that its gauges are there
    try (AppchainServiceTest.Service service =
        AppchainServiceTest.start(
            "alerts",
            AppchainServiceTest.database("alerts"),
            "prover.autoscale.interval = 1s",
            1)) {
      String url = service.node().httpUrl().orElseThrow() + "/metrics";
      try {
        NodeProcesses.polling(
                "every series the alert rules read in " + url,
                Duration.ofSeconds(60),
                Duration.ofMillis(500))
            .until(() -> missing(wanted, exported(Http.get(url).body())), Map::isEmpty);
      } catch (ConditionTimeoutException notAll) {
        // said below, with what is missing
      }
      assertEquals(
          Map.of(),
          missing(wanted, exported(Http.get(url).body())),
          "series (or label values) the alert rules read that the node does not export");
    }
  }

  /** The alerts of the rules file, in order. */
  private static List<String> alerts() throws IOException {
    List<String> alerts = new ArrayList<>();
    for (String line : Files.readAllLines(RULES, StandardCharsets.UTF_8)) {
      Matcher alert = ALERT.matcher(line);
      if (alert.matches()) {
        alerts.add(alert.group(1));
      }
    }
    assertFalse(alerts.isEmpty(), "no alert in " + RULES);
    return alerts;
  }

  /**
   * The series the rules' expressions read, by metric name, each with the {@code label=value} pairs
   * it matches (every alternative of a regular expression, every value it excludes: a value that is
   * never exported would make the matcher mean nothing).
   */
  private static Map<String, Set<String>> seriesTheRulesRead() throws IOException {
    Map<String, Set<String>> series = new HashMap<>();
    for (String expr : expressions()) {
      Matcher selector = SELECTOR.matcher(expr);
      while (selector.find()) {
        Set<String> labels = series.computeIfAbsent(selector.group(1), name -> new TreeSet<>());
        if (selector.group(2) != null) {
          Matcher matcher = MATCHER.matcher(selector.group(2));
          while (matcher.find()) {
            for (String value : matcher.group(3).split("\\|")) {
              labels.add(matcher.group(1) + "=" + value);
            }
          }
        }
      }
    }
    return series;
  }

  /** Each rule's {@code expr}, folded lines joined. */
  private static List<String> expressions() throws IOException {
    List<String> expressions = new ArrayList<>();
    StringBuilder current = null;
    for (String line : Files.readAllLines(RULES, StandardCharsets.UTF_8)) {
      Matcher start = EXPR_START.matcher(line);
      if (start.matches()) {
        current = new StringBuilder(start.group(1).equals(">-") ? "" : start.group(1));
      } else if (current != null && RULE_KEY.matcher(line).matches()) {
        expressions.add(current.toString());
        current = null;
      } else if (current != null) {
        current.append(' ').append(line.trim());
      }
    }
    assertTrue(current == null, "the last expression of " + RULES + " does not end");
    return expressions;
  }

  /** The series in a Prometheus text scrape, by name, with their {@code label=value} pairs. */
  private static Map<String, Set<String>> exported(String scrape) {
    Map<String, Set<String>> series = new HashMap<>();
    for (String line : scrape.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.indexOf(' ');
      String name = line.substring(0, brace >= 0 && brace < space ? brace : space);
      Set<String> labels = series.computeIfAbsent(name, n -> new TreeSet<>());
      if (brace >= 0 && brace < space) {
        Matcher matcher = MATCHER.matcher(line.substring(brace, line.lastIndexOf('}')));
        while (matcher.find()) {
          labels.add(matcher.group(1) + "=" + matcher.group(3));
        }
      }
    }
    return series;
  }

  /** What of {@code wanted} the scrape lacks: names, or label values of a name. */
  private static Map<String, Set<String>> missing(
      Map<String, Set<String>> wanted, Map<String, Set<String>> exported) {
    Map<String, Set<String>> missing = new HashMap<>();
    wanted.forEach(
        (name, labels) -> {
          Set<String> there = exported.get(name);
          if (there == null) {
            missing.put(name, Set.of("(no series)"));
            return;
          }
          Set<String> absent = new LinkedHashSet<>(labels);
          absent.removeAll(there);
          if (!absent.isEmpty()) {
            missing.put(name, absent);
          }
        });
    return missing;
  }

  private static Optional<Path> onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .map(directory -> Path.of(directory, program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  /** Runs promtool in the rules' directory; its output, once it exited 0 within 60 s. */
  private static String run(Path promtool, String... arguments) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(promtool.toString());
    command.addAll(List.of(arguments));
    Process process =
        new ProcessBuilder(command).directory(DIRECTORY.toFile()).redirectErrorStream(true).start();
    try {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " hung");
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, process.exitValue(), String.join(" ", command) + ":\n" + output);
      return output;
    } finally {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
