package dev.pekkoprover.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/**
 * The configuration of every measured node: the {@code --conf} overrides, then {@code bench.conf}
 * (logging only), then the embedded deployment's shipped configuration ({@code single-jvm.conf} of
 * cluster-config, over the modules' defaults). Nothing is tuned for the benchmark: what is measured
 * is the framework as shipped.
 */
public record BenchConfig(Config config, String overrides) {

  public static BenchConfig load(String overrides) {
    Config config =
        ConfigFactory.parseString(overrides)
            .withFallback(ConfigFactory.parseResources("bench.conf"))
            .withFallback(ConfigFactory.load("single-jvm"))
            .resolve();
    return new BenchConfig(config, overrides);
  }
}
