package dev.pekkoprover.cluster;

import dev.pekkoprover.node.SerializationWarmUp;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.testing.TestTasks;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.Test;

/**
 * The start-up warm-up of a cluster node: every protocol message round-trips, and a broken binding
 * is named.
 */
class SerializationWarmUpTest {
  private static final TaskCatalog CATALOG = TaskCatalog.of(TestTasks.all());

  @Test
  void everyProtocolMessageRoundTripsOnAClusterNode() {
    ActorTestKit kit = ActorTestKit.create(ClusterNodes.SYSTEM, ClusterNodes.config("worker", ""));
    try {
      LoggingTestKit.error("does not round-trip")
          .withOccurrences(0)
          .expect(
              kit.system(),
              () -> {
                SerializationWarmUp.run(kit.system(), CATALOG);
                return null;
              });
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aMessageThatCannotCrossNodesIsNamedAtStart() {
    // the protocol bound to Java serialisation, which Pekko refuses: no message could leave the
    // node
    ActorTestKit kit =
        ActorTestKit.create(
            ClusterNodes.SYSTEM,
            ClusterNodes.config(
                "worker",
                """
        pekko.actor.serialization-bindings { "dev.pekkoprover.protocol.CborSerializable" = java }
        pekko.actor.allow-java-serialization = off
        pekko.actor.serialize-messages = off
        """));
    try {
      LoggingTestKit.error(
              "the protocol message dev.pekkoprover.protocol.QueueCommand$WorkerServes does not "
                  + "round-trip")
          .expect(
              kit.system(),
              () -> {
                SerializationWarmUp.run(kit.system(), CATALOG);
                return null;
              });
    } finally {
      kit.shutdownTestKit();
    }
  }
}
