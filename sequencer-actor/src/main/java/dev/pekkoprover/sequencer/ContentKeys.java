package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskType;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * A task's content key, and the (de)serialisation of stored values, both with the node's own
 * serializers (Jackson CBOR for {@code CborSerializable} records). The key is {@code <task type
 * name>/<SHA-256 hex>} over the registration parameters' digest (what workers prepare with: the
 * same input proven under other verification keys is another result), the serializer id, the
 * manifest and the serialised input: the same task type with an equal input has the same key in
 * every run and on every node of the same build.
 *
 * <p>Inputs must serialise deterministically: records, lists and maps do (map entries are written
 * sorted by key, {@code protocol}'s reference.conf); a {@code Set} whose iteration order can differ
 * between runs gives another key (the task then simply runs again).
 *
 * <p>One instance per flow actor: the digest is reused and not thread-safe.
 */
final class ContentKeys {
  private static final HexFormat HEX = HexFormat.of();

  private final Serialization serialization;
  private final MessageDigest sha256;

  ContentKeys(ClassicActorSystemProvider system) {
    this.serialization = SerializationExtension.get(system);
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /**
   * The content key of a task of this type with this input, under registration parameters with this
   * digest ({@link #digest}); throws when the input cannot be serialised. An input already in its
   * serialised form ({@link SerializedPayload}, as made with this node's serializers) has the same
   * key as the value it holds, read from its bytes.
   */
  String keyOf(TaskType<?, ?> type, Object input, String parametersDigest) {
    SerializedPayload serialized;
    if (input instanceof SerializedPayload already) {
      serialized = already; // the same serializer, manifest and bytes: the same key, no work
    } else {
      Serializer serializer = serializerFor(input);
      serialized =
          new SerializedPayload(
              serializer.identifier(),
              Serializers.manifestFor(serializer, input),
              toBinary(serializer, input));
    }
    sha256.reset();
    sha256.update(parametersDigest.getBytes(StandardCharsets.US_ASCII));
    int id = serialized.serializerId();
    sha256.update(
        new byte[] {(byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
    sha256.update(serialized.manifest().getBytes(StandardCharsets.UTF_8));
    sha256.update((byte) 0);
    sha256.update(serialized.bytes());
    return type.name() + "/" + HEX.formatHex(sha256.digest());
  }

  /**
   * SHA-256 (hex) of a value serialised with the node's serializer: the registration parameters'
   * digest.
   */
  String digest(Object value) {
    sha256.reset();
    return HEX.formatHex(sha256.digest(toBinary(serializerFor(value), value)));
  }

  /** {@code value} serialised for the store under {@code key}. */
  StoredResult toStored(String key, String taskType, Object value) {
    Serializer serializer = serializerFor(value);
    return new StoredResult(
        key,
        taskType,
        serializer.identifier(),
        Serializers.manifestFor(serializer, value),
        toBinary(serializer, value));
  }

  /**
   * The value of a stored result; throws when it no longer deserialises (a class changed since it
   * was stored).
   */
  Object fromStored(StoredResult stored) {
    try {
      return serialization
          .deserialize(stored.bytes(), stored.serializerId(), stored.manifest())
          .get();
    } catch (Exception e) { // Try.get rethrows checked exceptions (a class gone) undeclared
      throw new IllegalStateException(
          "the value stored under " + stored.key() + " does not deserialise: " + e, e);
    }
  }

  // Pekko's Scala API throws checked exceptions (NotSerializableException when no
  // serialization-bindings entry matches, Jackson's on a value it cannot write) without declaring
  // them; callers catch RuntimeException, so they are turned into one here, saying what to do.

  private Serializer serializerFor(Object value) {
    try {
      return serialization.findSerializerFor(value);
    } catch (Exception e) {
      throw notSerializable(value, e);
    }
  }

  private static byte[] toBinary(Serializer serializer, Object value) {
    try {
      return serializer.toBinary(value);
    } catch (Exception e) {
      throw notSerializable(value, e);
    }
  }

  /**
   * "a value of class X cannot be serialised with this node's serializers (cause): make it a record
   * implementing CborSerializable".
   */
  private static IllegalArgumentException notSerializable(Object value, Exception cause) {
    return new IllegalArgumentException(
        "a value of class "
            + (value == null ? "null" : value.getClass().getName())
            + " cannot be serialised with this node's serializers ("
            + cause
            + "): make it a record implementing "
            + CborSerializable.class.getName(),
        cause);
  }
}
