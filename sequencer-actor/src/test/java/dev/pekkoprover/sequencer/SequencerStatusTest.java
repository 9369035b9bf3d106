package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.testing.TestConfig;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The sequencer's {@link ProvingOrchestrator.Status} crosses nodes (the singleton's answer to a job
 * or the status API on another node): its problems round-trip, and a status from a sequencer of an
 * earlier build, without them, reads as having none rather than failing to decode.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SequencerStatusTest {
  private final ActorTestKit testKit = ActorTestKit.create("sequencer-status", TestConfig.config());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void problemsRoundTripAndAreNoneInAStatusWithoutThem() throws Exception {
    ProvingOrchestrator.Status status =
        new ProvingOrchestrator.Status(
            "run-1", true, 2, 3, 0, null, 1, 40, List.of("the store has not confirmed a write"));
    Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
    byte[] bytes = serialization.serialize(status).get();
    var serializer = serialization.findSerializerFor(status);
    Object back =
        serialization
            .deserialize(
                bytes, serializer.identifier(), Serializers.manifestFor(serializer, status))
            .get();
    assertEquals(status, back);
    assertEquals(
        List.of(),
        new ProvingOrchestrator.Status("run-1", true, 0, 0, 0, null, 0, 0, null).problems(),
        "an earlier build's status: no problems");
  }
}
