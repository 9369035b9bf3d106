package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.DowningSettingsCheck;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.Valid;
import org.junit.jupiter.api.Test;

/** What the join-time check of the downing settings accepts and refuses. */
class DowningSettingsCheckTest {
  private final DowningSettingsCheck check = new DowningSettingsCheck();

  /** The shipped configuration of a node: cluster.conf over Pekko's reference.conf. */
  private static Config shipped() {
    return ConfigFactory.parseResources("cluster.conf")
        .withFallback(ConfigFactory.defaultReference())
        .resolve();
  }

  /** What Pekko sends of a node's configuration: the required keys only. */
  private Config sent(Config config) {
    Config sent = ConfigFactory.empty();
    for (String key : scala.jdk.javaapi.CollectionConverters.asJava(check.requiredKeys())) {
      if (config.hasPath(key)) {
        sent = sent.withValue(key, config.getValue(key));
      }
    }
    return sent;
  }

  private static List<String> messages(ConfigValidation validation) {
    return validation instanceof Invalid invalid
        ? scala.jdk.javaapi.CollectionConverters.asJava(invalid.errorMessages())
        : List.of();
  }

  @Test
  void theShippedSettingsOnBothSidesAreValidAndEveryKeyIsCompared() {
    assertEquals(Valid.getInstance(), check.check(sent(shipped()), shipped()));
    assertEquals(
        DowningSettingsCheck.KEYS.size(),
        sent(shipped()).entrySet().size(),
        "every compared setting has a value in the shipped configuration");
    assertEquals(
        "dev.pekkoprover.node.DowningSettingsCheck",
        shipped()
            .getString(
                "pekko.cluster.configuration-compatibility-check.checkers" + ".prover-downing"),
        "cluster.conf registers the check");
  }

  @Test
  void aDifferentStrategyStableAfterOrHeartbeatPauseIsRefusedWithWhatDiffers() {
    Config other =
        ConfigFactory.parseString(
                "pekko.cluster.split-brain-resolver { stable-after = 25s, active-strategy ="
                    + " keep-oldest, keep-majority.role = worker }\n"
                    + "pekko.cluster.failure-detector.acceptable-heartbeat-pause = 20s")
            .withFallback(shipped());
    // the strategies differ: their own settings (keep-majority.role) are not compared
    assertEquals(
        List.of(
            "pekko.cluster.split-brain-resolver.active-strategy is keep-oldest on the other node"
                + " and keep-majority on this one",
            "pekko.cluster.split-brain-resolver.stable-after is 25s on the other node and 7s on"
                + " this one",
            "pekko.cluster.failure-detector.acceptable-heartbeat-pause is 20s on the other node"
                + " and 2s on this one"),
        messages(check.check(sent(other), shipped())));
    // and the other way round: the joining node checks the cluster's answer the same way
    assertEquals(3, messages(check.check(sent(shipped()), other)).size());
  }

  @Test
  void theActiveStrategysOwnSettingsAreComparedAndTheOthersNot() {
    Config otherRole =
        ConfigFactory.parseString("pekko.cluster.split-brain-resolver.keep-majority.role = worker")
            .withFallback(shipped());
    assertEquals(
        List.of(
            "pekko.cluster.split-brain-resolver.keep-majority.role is worker on the other node and"
                + " stateful on this one"),
        messages(check.check(sent(otherRole), shipped())));
    Config unusedStrategy =
        ConfigFactory.parseString(
                "pekko.cluster.split-brain-resolver { static-quorum.quorum-size = 3,"
                    + " keep-oldest.role = worker }")
            .withFallback(shipped());
    assertEquals(Valid.getInstance(), check.check(sent(unusedStrategy), shipped()));
  }

  @Test
  void theSameDurationOrBooleanWrittenOtherwiseIsTheSame() {
    Config written =
        ConfigFactory.parseString(
                "pekko.cluster.split-brain-resolver { stable-after = 7000ms,"
                    + " down-all-when-unstable = false }")
            .withFallback(shipped());
    assertEquals(Valid.getInstance(), check.check(sent(written), shipped()));
    assertEquals(Valid.getInstance(), check.check(sent(shipped()), written));
  }

  /**
   * A node of a build without this check sends none of its keys (a rolling upgrade): nothing to
   * compare, so it is not refused for them.
   */
  @Test
  void settingsTheOtherNodeDidNotSendAreNotCompared() {
    assertEquals(
        Valid.getInstance(),
        check.check(ConfigFactory.parseString("pekko.version = \"1.7.0\""), shipped()));
  }

  @Test
  void theLaunchersLineNamesThisNodesOwnSettings() {
    String shown = DowningSettingsCheck.shown(shipped());
    assertEquals(
        "active-strategy = keep-majority, stable-after = 7s, keep-majority.role = stateful,"
            + " down-all-when-unstable = off, failure-detector.acceptable-heartbeat-pause = 2s",
        shown);
    assertTrue(
        DowningSettingsCheck.shown(
                ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 25s")
                    .withFallback(shipped()))
            .contains("stable-after = 25s"));
  }
}
