package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks.Num;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.jackson.JacksonMigration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link PayloadCodec}: the first value of a form is decoded by Pekko's serializer, later ones of a
 * plain CBOR record by Jackson's reader, with the same values; what Pekko has more to do for (a
 * migration, compressed bytes, a class it refuses) always goes through Pekko.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PayloadCodecTest {

  /** A record no other test of this class decodes. */
  public record Fresh(long n, String text) implements CborSerializable {}

  /** A record whose field was called {@code value} in version 1 and is {@code amount} now. */
  public record Renamed(long amount) implements CborSerializable {}

  /** The migration Pekko applies to a {@link Renamed} written by a version-1 node. */
  public static final class RenameValueToAmount extends JacksonMigration {
    @Override
    public int currentVersion() {
      return 2;
    }

    @Override
    public JsonNode transform(int fromVersion, JsonNode json) {
      ObjectNode node = (ObjectNode) json;
      if (fromVersion < 2 && node.has("value")) {
        node.set("amount", node.remove("value"));
      }
      return node;
    }
  }

  private final ActorTestKit testKit =
      ActorTestKit.create(
          "payload-codec",
          ConfigFactory.parseMap(
                  Map.of(
                      "pekko.serialization.jackson.migrations.\"" + Renamed.class.getName() + "\"",
                      RenameValueToAmount.class.getName()))
              .withFallback(TestConfig.config()));
  private final Serialization serialization =
      SerializationExtension.get(Adapter.toClassic(testKit.system()));
  private final PayloadCodec codec = PayloadCodec.get(testKit.system());

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private SerializedPayload serialized(Object value) {
    return SerializedPayload.of(serialization, value);
  }

  @Test
  void aRecordIsDecodedByPekkoOnceAndThenByJacksonsReaderToTheSameValues() {
    String manifest = Fresh.class.getName();
    assertFalse(codec.readsDirectly(manifest));
    assertEquals(new Fresh(1, "one"), codec.decode(serialized(new Fresh(1, "one"))));
    assertTrue(codec.readsDirectly(manifest), "admitted once by Pekko's serializer");
    for (int i = 2; i < 50; i++) {
      Fresh value = new Fresh(i, i % 2 == 0 ? null : "text " + i);
      assertEquals(value, codec.decode(serialized(value)));
      assertEquals(value, SerializedPayload.decode(serialization, serialized(value)));
    }
  }

  @Test
  void aValueThatIsNotSerializedComesBackAsItIs() {
    Num value = Num.of(3);
    assertSame(value, codec.decode(value));
    assertEquals(null, codec.decode(null));
  }

  @Test
  void aClassWithAMigrationIsAlwaysDecodedByPekkoSoItsOldVersionsAreMigrated() throws IOException {
    // a version-1 node wrote {"value": n} with the bare class name as its manifest
    SerializedPayload old =
        new SerializedPayload(
            serialized(Num.of(0)).serializerId(),
            Renamed.class.getName(),
            new CBORMapper().writeValueAsBytes(Map.of("value", 5L)));
    assertEquals(new Renamed(5), codec.decode(old));
    assertEquals(new Renamed(5), codec.decode(old), "migrated again, not read as it is");
    assertFalse(codec.readsDirectly(Renamed.class.getName()));
    // what this node writes carries its version and round-trips
    SerializedPayload current = serialized(new Renamed(7));
    assertEquals(Renamed.class.getName() + "#2", current.manifest());
    assertEquals(new Renamed(7), codec.decode(current));
    assertEquals(new Renamed(7), codec.decode(current));
  }

  @Test
  void compressedBytesOfAnAdmittedFormStillGoThroughPekkosDecompression() throws IOException {
    SerializedPayload plain = serialized(new Num(9, "gz"));
    assertEquals(new Num(9, "gz"), codec.decode(plain));
    assertTrue(codec.readsDirectly(plain.manifest()));
    ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(gzipped)) {
      out.write(plain.bytes());
    }
    SerializedPayload compressed =
        new SerializedPayload(plain.serializerId(), plain.manifest(), gzipped.toByteArray());
    assertEquals(new Num(9, "gz"), codec.decode(compressed));
  }

  @Test
  void bytesOfAClassOutsideTheProtocolAreRefusedEveryTime() {
    Serializer bytesSerializer = serialization.findSerializerFor(new byte[] {1});
    SerializedPayload raw =
        new SerializedPayload(bytesSerializer.identifier(), "", new byte[] {1, 2});
    for (int i = 0; i < 2; i++) {
      IllegalArgumentException refused =
          assertThrows(IllegalArgumentException.class, () -> codec.decode(raw));
      assertTrue(refused.getMessage().contains("not a task value"), refused.getMessage());
    }
  }

  @Test
  void bytesThatDoNotReadBackFailWithJacksonsReasonOnTheDirectPathToo() {
    SerializedPayload good = serialized(Num.of(4));
    codec.decode(good);
    assertTrue(codec.readsDirectly(good.manifest()));
    byte[] truncated = java.util.Arrays.copyOf(good.bytes(), good.bytes().length - 3);
    RuntimeException error =
        assertThrows(
            RuntimeException.class,
            () ->
                codec.decode(
                    new SerializedPayload(good.serializerId(), good.manifest(), truncated)));
    assertTrue(error.getMessage() != null && !error.getMessage().isBlank(), "says why");
  }
}
