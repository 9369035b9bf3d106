package dev.pekkoprover.sequencer;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigUtil;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The autoscaling signal's settings, read once from {@code prover.autoscale} (defaults and reasons
 * in this module's {@code reference.conf}).
 *
 * @param enabled whether the sequencer's node computes and exports the signal
 * @param interval how often it asks the queue for the fleet view
 * @param target the time the fleet should take to clear the outstanding work: workers needed =
 *     outstanding worker-seconds / target, rounded up
 * @param unmeasuredRunTime the run time assumed for a type none of whose tasks has completed yet
 * @param window the run times of the last this long make a type's mean (all of them until that much
 *     has passed)
 * @param workerClasses named worker classes: name -> the task types its workers serve
 */
public record AutoscaleSettings(
    boolean enabled,
    Duration interval,
    Duration target,
    Duration unmeasuredRunTime,
    Duration window,
    Map<String, Set<String>> workerClasses) {

  public AutoscaleSettings {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(unmeasuredRunTime, "unmeasuredRunTime");
    Objects.requireNonNull(window, "window");
    workerClasses = Map.copyOf(workerClasses);
    if (target.isNegative() || target.isZero()) {
      throw new IllegalArgumentException("prover.autoscale.target must be positive, was " + target);
    }
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException(
          "prover.autoscale.interval must be positive, was " + interval);
    }
  }

  public static AutoscaleSettings fromConfig(Config config) {
    Config autoscale = config.getConfig("prover.autoscale");
    Config classes = autoscale.getConfig("worker-classes");
    Map<String, Set<String>> named = new LinkedHashMap<>();
    for (String name : classes.root().keySet()) {
      named.put(name, new LinkedHashSet<>(classes.getStringList(ConfigUtil.joinPath(name))));
    }
    return new AutoscaleSettings(
        autoscale.getBoolean("enabled"),
        autoscale.getDuration("interval"),
        autoscale.getDuration("target"),
        autoscale.getDuration("unmeasured-run-time"),
        autoscale.getDuration("window"),
        named);
  }
}
