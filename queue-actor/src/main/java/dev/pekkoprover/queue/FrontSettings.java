package dev.pekkoprover.queue;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Settings of the node-local {@link QueueFront} of the sharded queue, read from {@code
 * prover.queue.cluster}.
 *
 * @param partitions task type -> number of partitions (entities) for hot types; absent means one
 * @param maxTasksPerMessage an Enqueue is split into messages of at most this many tasks per entity
 * @param maxBytesPerMessage ... and of at most this many payload bytes (when payload sizes are
 *     measured)
 * @param maxPayloadBytes a task input or result whose serialised size is above this fails its task
 *     with a reason instead of being dropped by the transport; 0 turns the check off
 * @param statsTimeout how long GetStats waits for every entity
 */
public record FrontSettings(
    Map<String, Integer> partitions,
    int maxTasksPerMessage,
    int maxBytesPerMessage,
    int maxPayloadBytes,
    Duration statsTimeout) {

  public FrontSettings {
    partitions = Map.copyOf(partitions);
    partitions.forEach(
        (type, n) -> {
          if (n < 1) {
            throw new IllegalArgumentException(
                "prover.queue.cluster.partitions." + type + " must be at least 1");
          }
        });
    if (maxTasksPerMessage < 1) {
      throw new IllegalArgumentException(
          "prover.queue.cluster.max-tasks-per-message must be at least 1");
    }
  }

  public static FrontSettings fromConfig(Config config) {
    Config cluster = config.getConfig("prover.queue.cluster");
    Map<String, Integer> partitions = new HashMap<>();
    Config byType = cluster.getConfig("partitions");
    for (String key : byType.root().keySet()) {
      partitions.put(key, byType.getInt("\"" + key + "\""));
    }
    return new FrontSettings(
        partitions,
        cluster.getInt("max-tasks-per-message"),
        (int) cluster.getMemorySize("max-bytes-per-message").toBytes(),
        (int) cluster.getMemorySize("max-payload-size").toBytes(),
        cluster.getDuration("stats-timeout"));
  }

  public int partitionsOf(String taskType) {
    return partitions.getOrDefault(taskType, 1);
  }
}
