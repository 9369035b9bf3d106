package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import org.apache.pekko.cluster.Valid;

/**
 * Pekko's join-time configuration check for the split-brain resolver: a node whose resolver
 * settings differ from the cluster's is refused when it joins ({@code
 * pekko.cluster.configuration-compatibility-check}, enforced on join by default). Registered in
 * {@code cluster.conf}; Pekko runs it on the seed node that answers the join (the joining node's
 * values against its own) and on the joining node (the cluster's answer against its own).
 *
 * <p>Why: every node must come to the same decision about which side of a partition survives, and
 * when. A node whose {@code stable-after} was longer (25 s against the cluster's 7 s, in {@code
 * NetworkPartitionIT}'s journal drill) kept its sequencer running and writing to the journal for 25
 * s on the losing side while the winning side had already started a new sequencer after 7 s + 7 s:
 * two writers of one store, the second's writes refused by the journal's key. A different strategy
 * or voting role splits the cluster the same way.
 *
 * <p>A key the other node did not send (a build without this check, during a rolling upgrade) is
 * not compared: that node's Pekko checks what it knows. Durations compare by length ({@code 7s}
 * equals {@code 7000ms}).
 */
public final class SplitBrainSettingsCheck extends JoinConfigCompatChecker {
  /** The settings compared, under {@code pekko.cluster.split-brain-resolver}. */
  static final List<String> KEYS =
      List.of(
          "active-strategy",
          "stable-after",
          "down-all-when-unstable",
          "keep-majority.role",
          "static-quorum.quorum-size",
          "static-quorum.role",
          "keep-oldest.down-if-alone",
          "keep-oldest.role",
          "lease-majority.lease-implementation",
          "lease-majority.acquire-lease-delay-for-minority",
          "lease-majority.role");

  private static final String PREFIX = "pekko.cluster.split-brain-resolver.";

  /** What the launcher's line names of this node's own settings, in this order. */
  static final List<String> SHOWN =
      List.of("active-strategy", "stable-after", "keep-majority.role", "down-all-when-unstable");

  /** Pekko creates it by its class name, with no arguments. */
  public SplitBrainSettingsCheck() {}

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return scala.jdk.javaapi.CollectionConverters.asScala(
            KEYS.stream().map(key -> PREFIX + key).collect(Collectors.toList()))
        .toList();
  }

  /**
   * @param toCheck the other node's values of {@link #requiredKeys} (only those it sent)
   * @param actualConfig this node's configuration
   * @return valid, or one message per setting that differs: {@code <key> is <other> on the other
   *     node and <this> on this one}
   */
  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    List<String> differences = new ArrayList<>();
    for (String key : KEYS) {
      String path = PREFIX + key;
      if (!toCheck.hasPath(path)) {
        continue;
      }
      if (!actualConfig.hasPath(path) || !same(toCheck, actualConfig, path)) {
        differences.add(
            path
                + " is "
                + toCheck.getValue(path).unwrapped()
                + " on the other node and "
                + (actualConfig.hasPath(path) ? actualConfig.getValue(path).unwrapped() : "unset")
                + " on this one");
      }
    }
    return differences.isEmpty()
        ? Valid.getInstance()
        : new Invalid(scala.jdk.javaapi.CollectionConverters.asScala(differences).toList());
  }

  private static boolean same(Config one, Config other, String path) {
    if (one.getValue(path).equals(other.getValue(path))) {
      return true;
    }
    try {
      return one.getDuration(path).equals(other.getDuration(path));
    } catch (ConfigException notADuration) {
      return false;
    }
  }

  /**
   * This node's values of the settings the launcher's line names: {@code active-strategy =
   * keep-majority, stable-after = 7s, ...}.
   */
  static String shown(Config config) {
    return SHOWN.stream()
        .filter(key -> config.hasPath(PREFIX + key))
        .map(key -> key + " = " + config.getValue(PREFIX + key).unwrapped())
        .collect(Collectors.joining(", "));
  }
}
