package dev.pekkoprover.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

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

  /**
   * The result lines among {@code lines}: those starting with {@code ours}, {@code bullmq} or
   * {@code bare} (BareRoundTrip), in their order; a token without {@code =} is a field with an
   * empty value.
   */
  static List<Result> parse(List<String> lines) {
    List<Result> results = new ArrayList<>();
    for (String line : lines) {
      String trimmed = line.trim();
      if (!trimmed.startsWith("ours ")
          && !trimmed.startsWith("bullmq ")
          && !trimmed.startsWith("bare ")) {
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
}
