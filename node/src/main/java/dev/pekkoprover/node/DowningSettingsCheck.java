package dev.pekkoprover.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import org.apache.pekko.cluster.Valid;

/**
 * Pekko's join-time configuration check for the settings that decide when a node is found
 * unreachable and which side of a partition downs itself: the split-brain resolver's (its strategy,
 * {@code stable-after}, {@code down-all-when-unstable} and the active strategy's own settings) and
 * the failure detector's. A node whose values differ from the cluster's is refused when it joins
 * ({@code pekko.cluster.configuration-compatibility-check}, enforced on join by default).
 * Registered in {@code cluster.conf} (module {@code cluster-config}; in {@code node} so that a
 * library user's copy of that file finds it, as a trial's did not); Pekko runs it on each seed node
 * that answers a join (the joining node's values against its own) and on the joining node (the
 * values the seed sends back against its own).
 *
 * <p>Why: the sequencer singleton starts on the majority's side a further {@code stable-after}
 * after the minority's node was removed, so that the minority's sequencer, which downs itself after
 * the same {@code stable-after}, has stopped writing to the journal first. That margin holds only
 * when both sides notice the cut alike and wait alike: a sequencer node with {@code stable-after =
 * 25s}, cut off with a worker, went on proving and writing until about 26 s after the cut, while
 * the other side's new sequencer had started at 18 s: two writers of one store, the second's writes
 * refused by the journal's key ({@code NetworkPartitionIT}'s journal drill). A longer {@code
 * acceptable-heartbeat-pause} on one side delays its verdict the same way.
 *
 * <p>A setting the other node did not send is not compared: a node of a build without this check
 * sends none, and is admitted whatever its settings (the protection holds once every node runs a
 * build with it), while a node with it that joins such a cluster compares the values the seed sends
 * back for what it asked. Durations compare by length ({@code 7s} equals {@code 7000ms}), booleans
 * by value ({@code off} equals {@code false}).
 */
public final class DowningSettingsCheck extends JoinConfigCompatChecker {
  private static final String RESOLVER = "pekko.cluster.split-brain-resolver.";

  /** The resolver's settings compared whatever its strategy. */
  private static final List<String> COMMON =
      List.of(
          RESOLVER + "active-strategy",
          RESOLVER + "stable-after",
          RESOLVER + "down-all-when-unstable",
          "pekko.cluster.failure-detector.heartbeat-interval",
          "pekko.cluster.failure-detector.acceptable-heartbeat-pause",
          "pekko.cluster.failure-detector.threshold");

  /** Each strategy's own settings: compared when the nodes agree on that strategy. */
  private static final Map<String, List<String>> BY_STRATEGY =
      Map.of(
          "keep-majority", List.of("keep-majority.role"),
          "static-quorum", List.of("static-quorum.quorum-size", "static-quorum.role"),
          "keep-oldest", List.of("keep-oldest.down-if-alone", "keep-oldest.role"),
          "down-all", List.of(),
          "lease-majority",
              List.of(
                  "lease-majority.lease-implementation",
                  "lease-majority.acquire-lease-delay-for-minority",
                  "lease-majority.role"));

  /** Every setting a node sends for this check (Pekko's required keys), in a fixed order. */
  public static final List<String> KEYS =
      Stream.concat(
              COMMON.stream(),
              BY_STRATEGY.values().stream()
                  .flatMap(List::stream)
                  .sorted()
                  .map(key -> RESOLVER + key))
          .toList();

  /** What the launcher's line names of this node's own settings, in this order. */
  private static final List<String> SHOWN =
      List.of(
          RESOLVER + "active-strategy",
          RESOLVER + "stable-after",
          RESOLVER + "keep-majority.role",
          RESOLVER + "down-all-when-unstable",
          "pekko.cluster.failure-detector.acceptable-heartbeat-pause");

  /** Pekko creates it by its class name, with no arguments. */
  public DowningSettingsCheck() {}

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return scala.jdk.javaapi.CollectionConverters.asScala(KEYS).toList();
  }

  /**
   * @param toCheck the other node's values of {@link #requiredKeys} (only those it sent)
   * @param actualConfig this node's configuration
   * @return valid, or one message per setting that differs: {@code <path> is <other> on the other
   *     node and <this> on this one}; a strategy's own settings only when both use that strategy
   */
  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    List<String> differences = new ArrayList<>();
    List<String> compared = new ArrayList<>(COMMON);
    String strategy = RESOLVER + "active-strategy";
    if (actualConfig.hasPath(strategy)
        && (!toCheck.hasPath(strategy) || same(toCheck, actualConfig, strategy))) {
      BY_STRATEGY.getOrDefault(actualConfig.getString(strategy), List.of()).stream()
          .map(key -> RESOLVER + key)
          .forEach(compared::add);
    }
    for (String path : compared) {
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
      // next
    }
    try {
      return one.getBoolean(path) == other.getBoolean(path);
    } catch (ConfigException notABoolean) {
      return false;
    }
  }

  /**
   * This node's values of the settings the launcher's line names, e.g. {@code active-strategy =
   * keep-majority, stable-after = 7s, ..., acceptable-heartbeat-pause = 2s}.
   */
  public static String shown(Config config) {
    return SHOWN.stream()
        .filter(config::hasPath)
        .map(
            path ->
                (path.startsWith(RESOLVER)
                        ? path.substring(RESOLVER.length())
                        : path.substring("pekko.cluster.".length()))
                    + " = "
                    + config.getValue(path).unwrapped())
        .collect(Collectors.joining(", "));
  }
}
