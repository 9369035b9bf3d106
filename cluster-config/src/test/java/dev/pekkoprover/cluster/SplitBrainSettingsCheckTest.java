package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.Valid;
import org.junit.jupiter.api.Test;

/** What the join-time check of the split-brain resolver's settings accepts and refuses. */
class SplitBrainSettingsCheckTest {
  private final SplitBrainSettingsCheck check = new SplitBrainSettingsCheck();

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
        SplitBrainSettingsCheck.KEYS.size(),
        sent(shipped()).entrySet().size(),
        "every compared setting has a value in the shipped configuration");
    assertEquals(
        "dev.pekkoprover.cluster.SplitBrainSettingsCheck",
        shipped()
            .getString(
                "pekko.cluster.configuration-compatibility-check.checkers"
                    + ".prover-split-brain-resolver"),
        "cluster.conf registers the check");
  }

  @Test
  void aDifferentStableAfterStrategyOrVotingRoleIsRefusedWithWhatDiffers() {
    Config other =
        ConfigFactory.parseString(
                "pekko.cluster.split-brain-resolver { stable-after = 25s, active-strategy ="
                    + " keep-oldest, keep-majority.role = worker }")
            .withFallback(shipped());
    List<String> messages = messages(check.check(sent(other), shipped()));
    assertEquals(
        List.of(
            "pekko.cluster.split-brain-resolver.active-strategy is keep-oldest on the other node"
                + " and keep-majority on this one",
            "pekko.cluster.split-brain-resolver.stable-after is 25s on the other node and 7s on"
                + " this one",
            "pekko.cluster.split-brain-resolver.keep-majority.role is worker on the other node and"
                + " stateful on this one"),
        messages);
    // and the other way round: the joining node checks the cluster's answer the same way
    assertEquals(3, messages(check.check(sent(shipped()), other)).size());
  }

  @Test
  void theSameDurationWrittenOtherwiseIsTheSame() {
    Config millis =
        ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 7000ms")
            .withFallback(shipped());
    assertEquals(Valid.getInstance(), check.check(sent(millis), shipped()));
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
    String shown = SplitBrainSettingsCheck.shown(shipped());
    assertEquals(
        "active-strategy = keep-majority, stable-after = 7s, keep-majority.role = stateful,"
            + " down-all-when-unstable = off",
        shown);
    assertTrue(
        SplitBrainSettingsCheck.shown(
                ConfigFactory.parseString("pekko.cluster.split-brain-resolver.stable-after = 25s")
                    .withFallback(shipped()))
            .contains("stable-after = 25s"));
  }
}
