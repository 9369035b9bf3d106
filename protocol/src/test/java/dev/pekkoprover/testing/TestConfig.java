package dev.pekkoprover.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The configuration every actor test starts from: every message is serialised, logs go through
 * SLF4J.
 */
public final class TestConfig {
  private TestConfig() {}

  public static final String TEST_SETTINGS =
      """
      pekko.loglevel = DEBUG
      pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
      pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
      # Every message is serialised and deserialised, so a message that could not cross a node fails here.
      pekko.actor.serialize-messages = on
      pekko.actor.no-serialization-verification-needed-class-prefix = ["org.apache.pekko."]
      """;

  /** Test settings on top of the classpath's application.conf and reference.conf. */
  public static Config config() {
    return ConfigFactory.parseString(TEST_SETTINGS).withFallback(ConfigFactory.load());
  }

  /** {@code overrides}, then the test settings, then the classpath. */
  public static Config config(String overrides) {
    return ConfigFactory.parseString(overrides).withFallback(config());
  }
}
