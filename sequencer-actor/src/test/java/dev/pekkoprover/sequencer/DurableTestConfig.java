package dev.pekkoprover.sequencer;

import com.typesafe.config.Config;
import dev.pekkoprover.testing.TestConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Durability on, with Pekko's in-memory journal (it lives as long as the actor system) and
 * snapshots in a temp dir.
 */
final class DurableTestConfig {
  private DurableTestConfig() {}

  static Config config(String overrides) {
    Path snapshots;
    try {
      snapshots = Files.createTempDirectory("prover-snapshots");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    snapshots.toFile().deleteOnExit();
    return TestConfig.config(
        overrides
            + "\n"
            + "prover.persistence.enabled = on\n"
            + "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
            // events and snapshots go through serialisation here as they would into a database
            + "pekko.persistence.journal.inmem.test-serialization = on\n"
            + "pekko.persistence.snapshot-store.plugin = \"pekko.persistence.snapshot-store.local\"\n"
            + "pekko.persistence.snapshot-store.local.dir = \""
            + snapshots.toString().replace("\\", "/")
            + "\"\n");
  }
}
