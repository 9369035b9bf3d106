package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@code prover.sequencer} is read from the configuration, defaults from reference.conf; a bad
 * value is named.
 */
class SequencerSettingsTest {

  @Test
  void theShippedDefaultsAreRead() {
    SequencerSettings settings = SequencerSettings.fromConfig(ConfigFactory.load());
    assertEquals(Duration.ZERO, settings.resendAfter(), "off in one JVM");
    assertEquals(8, settings.resendBackoffMax());
    assertEquals(1000, settings.checkIdsPerMessage());
    assertEquals(10_000, settings.startupMaxWaiting());
    assertEquals(Duration.ofSeconds(15), settings.lossCheckWindow());
  }

  @Test
  void aDeploymentOverridesAValue() {
    SequencerSettings settings =
        SequencerSettings.fromConfig(
            ConfigFactory.parseString(
                    "prover.sequencer { resend-after = 60s, startup-max-waiting = 5 }")
                .withFallback(ConfigFactory.load()));
    assertEquals(Duration.ofSeconds(60), settings.resendAfter());
    assertEquals(Duration.ofSeconds(15), settings.checkTick(), "a quarter of resend-after");
    assertEquals(5, settings.startupMaxWaiting());
    assertEquals(
        Duration.ofMillis(50),
        settings.withResendAfter(Duration.ofMillis(100)).checkTick(),
        "but not more often than check-tick-min");
  }

  @Test
  void aValueOutOfRangeIsRefusedNamingItsSetting() {
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                SequencerSettings.fromConfig(
                    ConfigFactory.parseString("prover.sequencer.check-ids-per-message = 0")
                        .withFallback(ConfigFactory.load())));
    assertTrue(
        error.getMessage().contains("prover.sequencer.check-ids-per-message must be at least 1"),
        error.getMessage());
  }
}
