package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class WorkerSettingsTest {

  @Test
  void defaultsComeFromReferenceConf() {
    Config config = ConfigFactory.load();
    WorkerSettings settings = WorkerSettings.fromConfig(config, "w1");
    assertEquals(
        new WorkerSettings(
            "w1",
            1,
            Duration.ofMillis(200),
            Duration.ofSeconds(10),
            0.2,
            Duration.ofSeconds(5),
            "prover.worker.compute-dispatcher",
            Duration.ofSeconds(5),
            0,
            Duration.ofSeconds(5),
            false,
            16,
            false),
        settings);
    Config dispatcher = config.getConfig(settings.computeDispatcher());
    assertEquals(ComputeThreadPool.class.getName(), dispatcher.getString("executor"));
  }

  @Test
  void overridesAreRead() {
    Config config =
        ConfigFactory.parseString(
                "prover.worker { concurrency = 4, restart.max-backoff = 1s, "
                    + "max-reports-per-message = 0 }")
            .withFallback(ConfigFactory.load());
    WorkerSettings settings = WorkerSettings.fromConfig(config, "w2");
    assertEquals(4, settings.concurrency());
    assertEquals(Duration.ofSeconds(1), settings.restartMaxBackoff());
    assertEquals(0, settings.maxReportsPerMessage());
  }

  @Test
  void nonsenseIsRefusedWithTheKey() {
    Config config =
        ConfigFactory.parseString("prover.worker.concurrency = 0")
            .withFallback(ConfigFactory.load());
    String message =
        assertThrows(IllegalArgumentException.class, () -> WorkerSettings.fromConfig(config, "w3"))
            .getMessage();
    assertTrue(message.contains("prover.worker.concurrency"), message);

    Config negative =
        ConfigFactory.parseString("prover.worker.max-reports-per-message = -1")
            .withFallback(ConfigFactory.load());
    message =
        assertThrows(
                IllegalArgumentException.class, () -> WorkerSettings.fromConfig(negative, "w4"))
            .getMessage();
    assertTrue(message.contains("prover.worker.max-reports-per-message"), message);
  }
}
