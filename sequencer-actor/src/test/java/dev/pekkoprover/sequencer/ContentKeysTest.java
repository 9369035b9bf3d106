package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import java.io.NotSerializableException;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Content keys: equal inputs, equal keys (maps too, whatever their order); type and parameters are
 * part of it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContentKeysTest {
  private final ActorTestKit testKit = ActorTestKit.create("content-keys", TestConfig.config());
  private final ContentKeys keys = new ContentKeys(testKit.system());

  record WithMap(Map<String, String> entries) implements CborSerializable {}

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  @Test
  void equalInputsHaveEqualKeysNamedAfterTheirType() {
    String key = keys.keyOf(TestTasks.Square.INSTANCE, Num.of(3), "p");
    assertEquals(key, keys.keyOf(TestTasks.Square.INSTANCE, new Num(3, ""), "p"));
    assertTrue(key.startsWith("square/") && key.length() == "square/".length() + 64, key);
    assertNotEquals(key, keys.keyOf(TestTasks.Square.INSTANCE, Num.of(4), "p"));
    assertNotEquals(
        key, keys.keyOf(TestTasks.Add.INSTANCE, Num.of(3), "p"), "another type is another task");
    assertNotEquals(
        key,
        keys.keyOf(TestTasks.Square.INSTANCE, Num.of(3), "q"),
        "other registration parameters");
  }

  @Test
  void aMapSerialisesTheSameWhateverItsIterationOrder() {
    Map<String, String> ab = new LinkedHashMap<>();
    ab.put("a", "1");
    ab.put("b", "2");
    Map<String, String> ba = new LinkedHashMap<>();
    ba.put("b", "2");
    ba.put("a", "1");
    assertEquals(keys.digest(new WithMap(ab)), keys.digest(new WithMap(ba)));
    assertEquals(
        keys.keyOf(TestTasks.Echo.INSTANCE, new WithMap(ab), "p"),
        keys.keyOf(TestTasks.Echo.INSTANCE, new WithMap(ba), "p"));
  }

  @Test
  void anInputInItsSerialisedFormHasTheKeyOfTheValue() {
    Num input = Num.of(7);
    Serialization serialization = SerializationExtension.get(testKit.system());
    Serializer serializer = serialization.findSerializerFor(input);
    SerializedPayload bytes =
        new SerializedPayload(
            serializer.identifier(),
            Serializers.manifestFor(serializer, input),
            serializer.toBinary(input));
    assertEquals(
        keys.keyOf(TestTasks.Square.INSTANCE, input, "p"),
        keys.keyOf(TestTasks.Square.INSTANCE, bytes, "p"));
  }

  @Test
  void aStoredValueReadsBack() {
    StoredResult stored = keys.toStored("k", "square", Num.of(9));
    assertEquals(Num.of(9), keys.fromStored(stored));
  }

  @Test
  void everyJdkTaskValueHasAKeyAndReadsBack() {
    for (Object value :
        List.of("s", 7L, 7, true, 2.5d, new BigInteger("123456789012345678901234567890"))) {
      assertEquals(
          keys.keyOf(TestTasks.Square.INSTANCE, value, "p"),
          keys.keyOf(TestTasks.Square.INSTANCE, value, "p"),
          value.getClass().getName());
      assertEquals(value, keys.fromStored(keys.toStored("k", "square", value)));
    }
  }

  /** Not CborSerializable: no serializer is bound to it. */
  record Plain(int n) {}

  @Test
  void aValueWithoutASerializerFailsWithAnUncheckedErrorSayingWhatToDo() {
    // Pekko throws a checked NotSerializableException here, undeclared; the flows and the sequencer
    // catch RuntimeException only
    IllegalArgumentException key =
        assertThrows(
            IllegalArgumentException.class,
            () -> keys.keyOf(TestTasks.Square.INSTANCE, new Plain(1), "p"));
    assertTrue(key.getMessage().contains(Plain.class.getName()), key.getMessage());
    assertTrue(
        key.getMessage()
            .contains("make it a record implementing " + CborSerializable.class.getName()),
        key.getMessage());
    assertInstanceOf(NotSerializableException.class, key.getCause());
    assertThrows(IllegalArgumentException.class, () -> keys.toStored("k", "flow", new Plain(1)));
    assertThrows(IllegalArgumentException.class, () -> keys.digest(new Plain(1)));
  }
}
