package dev.pekkoprover.protocol;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * Decodes task values that arrive as a {@link SerializedPayload}: one per actor system ({@code
 * PayloadCodec.get(system)}), used by the worker before its compute, by the flow before its
 * callback, and by {@link HotMessageSerializer} for values that travel live.
 *
 * <p>Every serialised form (serializer id and manifest) is decoded by Pekko's serializer the first
 * time, which applies Pekko's rules: the class must be bound to the serializer (allow-list, gadget
 * deny-list), a configured {@code JacksonMigration} transforms older versions, compressed bytes are
 * decompressed. A form of the {@code jackson-cbor} binding that came through that door as a record
 * Pekko had nothing to do for (manifest = the class name, no migration configured for the class) is
 * then read with a Jackson {@link ObjectReader} bound to the class, made from the very {@code
 * ObjectMapper} Pekko's serializer uses, which is what Pekko would end up calling; bytes that are
 * not a plain CBOR map (compressed ones start with the gzip or LZ4 magic, never a map's head byte)
 * still go through Pekko. Why: per value, Pekko's {@code fromBinary} looks the class up by name,
 * checks it, and has Jackson resolve its type again; on a worker running small inline tasks across
 * processes that was 11% of the JVM's CPU (JFR, {@code BENCHMARKS.md}, issue 14's seventh round).
 */
public final class PayloadCodec implements Extension {

  /** The extension's id: {@code PayloadCodec.get(system)}. */
  public static final class Id extends ExtensionId<PayloadCodec> {
    static final Id INSTANCE = new Id();

    private Id() {}

    @Override
    public PayloadCodec createExtension(ActorSystem<?> system) {
      return new PayloadCodec(system);
    }
  }

  public static PayloadCodec get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /**
   * The Jackson binding the protocol binds {@link CborSerializable} to ({@code reference.conf}).
   */
  static final String CBOR_BINDING = "jackson-cbor";

  private final Serialization serialization;
  private final int cborId;
  private final ObjectMapper cbor;

  /** Class names with a migration configured for the CBOR binding: always decoded by Pekko. */
  private final Set<String> migrated;

  /** Readers of the CBOR forms Pekko admitted once, by manifest (= class name). */
  private final ConcurrentHashMap<String, ObjectReader> readers = new ConcurrentHashMap<>();

  private PayloadCodec(ActorSystem<?> system) {
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    // Pekko makes its serializers when the extension starts (and serializerFor returns the one
    // bound), so the mapper of the binding's name exists already and this returns the serializer's
    // own, made with its CBOR factory; with no binding there is no fast path, and no mapper is made
    // under that name
    this.cborId = cborSerializerId(serialization);
    this.cbor =
        cborId < 0
            ? null
            : JacksonObjectMapperProvider.get(system).getOrCreate(CBOR_BINDING, Optional.empty());
    this.migrated =
        Set.copyOf(
            JacksonObjectMapperProvider.configForBinding(CBOR_BINDING, system.settings().config())
                .getConfig("migrations")
                .root()
                .keySet());
  }

  /**
   * The value itself, or {@code value} unchanged when it is not a {@link SerializedPayload}.
   *
   * @throws RuntimeException when the bytes do not decode on this node (a class missing here, a
   *     field that does not read back), or decode to a class that may not travel as a task value
   *     ({@link AnyValue#isAllowed}); the exception says why
   */
  public Object decode(Object value) {
    if (!(value instanceof SerializedPayload serialized)) {
      return value;
    }
    if (serialized.serializerId() == cborId && plainCborMap(serialized.bytes())) {
      ObjectReader reader = readers.get(serialized.manifest());
      if (reader != null) {
        try {
          return reader.readValue(serialized.bytes());
        } catch (IOException e) {
          throw new IllegalArgumentException(e.getMessage(), e);
        }
      }
    }
    Object decoded = SerializedPayload.decode(serialization, serialized);
    if (decoded != null
        && serialized.serializerId() == cborId
        && serialized.manifest().equals(decoded.getClass().getName())
        && !migrated.contains(serialized.manifest())) {
      readers.putIfAbsent(serialized.manifest(), cbor.readerFor(decoded.getClass()));
    }
    return decoded;
  }

  /** The id of the serializer bound to {@link CborSerializable}; -1 (no fast path) when none is. */
  private static int cborSerializerId(Serialization serialization) {
    try {
      return serialization.serializerFor(CborSerializable.class).identifier();
    } catch (java.io.NotSerializableException e) {
      return -1;
    }
  }

  /** Whether values of this manifest are read by Jackson directly now (for tests). */
  boolean readsDirectly(String manifest) {
    return readers.containsKey(manifest);
  }

  /** True when the bytes start with a CBOR map's head byte (major type 5: 0xA0 to 0xBF). */
  private static boolean plainCborMap(byte[] bytes) {
    return bytes.length > 0 && (bytes[0] & 0xE0) == 0xA0;
  }
}
