package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.protocol.QueueCommand;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a peer can make a cluster node deserialise is closed (issue 12, part 5), with the shipped
 * configuration ({@code cluster.conf} and the modules' reference.conf): Java serialisation is off,
 * Jackson reads only classes of the protocol's marker binding, and a message is bounded by Artery's
 * frame size, above the queue's payload limit. A payload over that limit failing its task with a
 * reason is {@code ClusterQueueTest}'s; a class without the marker named at start-up is {@code
 * SerializationWarmUpTest}'s.
 */
class ClosedSerializationTest {
  private static ActorTestKit kit;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    kit = ActorTestKit.create(ClusterNodes.SYSTEM, ClusterNodes.config("worker", ""));
    serialization = SerializationExtension.get(kit.system());
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void javaSerializationIsOffSoASerializableValueCannotCrossNodes() {
    Config config = kit.system().settings().config();
    assertEquals(false, config.getBoolean("pekko.actor.allow-java-serialization"));
    ArrayList<String> serializable =
        new ArrayList<>(List.of("a java.io.Serializable, not a protocol message"));
    Exception refused =
        assertThrows(Exception.class, () -> serialization.serialize(serializable).get());
    assertTrue(
        refused.getMessage().contains("disabled")
            || refused.getMessage().contains("Java serialization"),
        "refused for Java serialisation being off: " + refused);
  }

  @Test
  void jacksonReadsOnlyClassesOfTheProtocolMarker() throws Exception {
    // a protocol message round-trips through the marker's binding ...
    QueueCommand.CancelFlow message = new QueueCommand.CancelFlow("flow-1");
    Serializer serializer = serialization.findSerializerFor(message);
    assertEquals("JacksonCborSerializer", serializer.getClass().getSimpleName());
    byte[] bytes = serialization.serialize(message).get();
    String manifest = ((SerializerWithStringManifest) serializer).manifest(message);
    assertEquals(
        message, serialization.deserialize(bytes, serializer.identifier(), manifest).get());

    // ... but bytes from a peer that name any other class are refused, before Jackson creates an
    // object of it
    for (String stranger :
        List.of(
            "java.util.HashMap",
            "java.lang.ProcessBuilder",
            "org.apache.pekko.cluster.typed.Leave")) {
      Exception refused =
          assertThrows(
              Exception.class,
              () -> serialization.deserialize(bytes, serializer.identifier(), stranger).get(),
              stranger);
      String reason = String.valueOf(refused.getMessage());
      assertTrue(
          reason.contains("listed as allowed") || reason.contains("not allowed"),
          stranger + " refused: " + refused);
    }
  }

  @Test
  void aFrameIsBoundedAboveTheQueuesPayloadLimit() {
    Config config = kit.system().settings().config();
    long frame = config.getBytes("pekko.remote.artery.advanced.maximum-frame-size");
    long payload = config.getBytes("prover.queue.cluster.max-payload-size");
    assertEquals(2L << 20, frame, "cluster.conf's frame size");
    assertTrue(
        payload < frame, "a payload the queue accepts fits in a frame: " + payload + " < " + frame);
  }
}
