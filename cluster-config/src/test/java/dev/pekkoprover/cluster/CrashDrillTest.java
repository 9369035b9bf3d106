package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.testing.LogCapture;
import dev.pekkoprover.testing.TestConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 8, item 3: the main job's crash drill ends RESULT OK whatever the crash rate and the slots
 * per worker. Every {@code crashEvery}-th proving compute on the node crashes its worker; the task
 * that crashed is charged a worker loss (max-worker-losses = 10 by default), the tasks running
 * beside it nothing. A sample of the grid crash-every 3..50 x concurrency 1..4, each run in-process
 * with the shipped queue and worker settings (only the restart backoff is shortened, to keep the
 * test quick).
 */
@ExtendWith(LogCapture.class)
class CrashDrillTest {

  static Stream<Arguments> sample() {
    return Stream.of(
        Arguments.of(3, 1),
        Arguments.of(3, 4),
        Arguments.of(4, 2),
        Arguments.of(5, 4),
        Arguments.of(7, 3),
        Arguments.of(11, 1),
        Arguments.of(23, 2),
        Arguments.of(50, 4));
  }

  @ParameterizedTest(name = "crash every {0}, concurrency {1}")
  @MethodSource("sample")
  void theDrillEndsOk(int crashEvery, int concurrency) {
    Config config =
        TestConfig.config(
                """
        prover.worker.restart.min-backoff = 20ms
        prover.worker.restart.max-backoff = 200ms
        prover.appchain.proving-work = 200
        """)
            .withFallback(com.typesafe.config.ConfigFactory.load("single-jvm"));
    AppchainSettings settings = AppchainSettings.fromConfig(config);
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    AppchainJob.Summary summary;
    try (ProverNode node =
        ProverNode.builder("drill")
            .config(config)
            .catalog(AppchainJob.catalog(crashEvery))
            .localQueue()
            .sequencer(AppchainJob.startupPlan(settings))
            .workers(WorkerGroup.allTypes(2, concurrency))
            .start()) {
      summary =
          AppchainJob.run(
              node,
              settings,
              new AppchainJob.Options(50, 4, 8, 2, 7),
              new PrintStream(printed, true, StandardCharsets.UTF_8));
    }
    assertTrue(summary.ok(), summary.render());
    assertEquals(summary.directStateRoot(), summary.provenStateRoot());
    assertTrue(summary.tasks() > 50, summary.render());
  }
}
