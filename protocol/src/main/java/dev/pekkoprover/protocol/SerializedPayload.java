package dev.pekkoprover.protocol;

import java.util.Arrays;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * A task input or result in serialised form: the bytes of its one serialisation, named the way
 * Pekko names a serialised form (serializer id and manifest, as in {@link
 * org.apache.pekko.serialization.Serialization#deserialize(byte[], int, String)}). Made where a
 * value is first serialised on its way to another node (the queue front's size check of an input,
 * the worker's check of a result bound for another node) and then carried as it is: every later hop
 * writes the bytes unchanged, and a size check is {@code bytes.length}. Decoded only where the
 * value is used ({@link #decode}): by the worker before its compute, by the flow before its
 * callback; never by the queue. Values that stay in one JVM are never wrapped.
 *
 * @param serializerId the Pekko serializer that wrote {@code bytes}
 * @param manifest that serializer's manifest for the value's class ("" when it has none)
 * @param bytes the serialised value; not copied, not to be changed
 */
public record SerializedPayload(int serializerId, String manifest, byte[] bytes)
    implements CborSerializable {

  /**
   * {@code value} serialised by the serializer Pekko binds its class to, as it would cross a node.
   *
   * @throws RuntimeException what that serializer throws for a value it cannot write (Jackson's
   *     checked exceptions come through Pekko's Scala API undeclared)
   */
  public static SerializedPayload of(Serialization serialization, Object value) {
    Serializer serializer = serialization.findSerializerFor(value);
    return new SerializedPayload(
        serializer.identifier(),
        Serializers.manifestFor(serializer, value),
        serializer.toBinary(value));
  }

  /** The serialised size in bytes. */
  public int size() {
    return bytes.length;
  }

  /**
   * The value itself, or {@code value} unchanged when it is not a {@code SerializedPayload}.
   *
   * @throws RuntimeException when the bytes do not decode on this node (a class missing here, a
   *     field that does not read back), or decode to a class that may not travel as a task value
   *     ({@link AnyValue#isAllowed}); the exception says why
   */
  public static Object decode(Serialization serialization, Object value) {
    if (value instanceof SerializedPayload serialized) {
      Object decoded =
          serialization
              .deserialize(serialized.bytes, serialized.serializerId, serialized.manifest)
              .get();
      if (decoded != null && !AnyValue.isAllowed(decoded.getClass())) {
        // the same door AnyValue keeps shut: a peer names the serializer and manifest, and only
        // the protocol's values may come out of them
        throw new IllegalArgumentException(
            "a "
                + decoded.getClass().getName()
                + " is not a task value (a record implementing "
                + CborSerializable.class.getName()
                + "); refused");
      }
      return decoded;
    }
    return value;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SerializedPayload that
        && serializerId == that.serializerId
        && manifest.equals(that.manifest)
        && Arrays.equals(bytes, that.bytes);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * serializerId + manifest.hashCode()) + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "SerializedPayload(serializer "
        + serializerId
        + ", manifest "
        + manifest
        + ", "
        + bytes.length
        + " bytes)";
  }
}
