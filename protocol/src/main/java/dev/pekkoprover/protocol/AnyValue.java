package dev.pekkoprover.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.math.BigInteger;
import java.util.Set;

/**
 * Jackson (de)serialiser for the {@code Object}-typed fields that carry task inputs and results. It
 * writes {@code [className, value]} and, when reading, accepts only classes that implement {@link
 * CborSerializable} or a few plain JDK value types: Pekko forbids Jackson's class-name polymorphism
 * because it lets a peer instantiate any class, and this keeps that door shut while letting users
 * plug in their own records.
 */
public final class AnyValue {
  private AnyValue() {}

  private static final Set<Class<?>> JDK_VALUES =
      Set.of(
          String.class, Long.class, Integer.class, Boolean.class, Double.class, BigInteger.class);

  /**
   * The answer of {@link #isAllowed} per class, worked out once: it is asked for every task result
   * (an interface check that was 2% of a one-JVM run's CPU).
   */
  private static final ClassValue<Boolean> ALLOWED =
      new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
          return CborSerializable.class.isAssignableFrom(type) || JDK_VALUES.contains(type);
        }
      };

  /** True when a value of this class may travel as a task input or result. */
  public static boolean isAllowed(Class<?> type) {
    return ALLOWED.get(type);
  }

  public static final class Serializer extends StdSerializer<Object> {
    private static final long serialVersionUID = 1L;

    public Serializer() {
      super(Object.class);
    }

    @Override
    public void serialize(Object value, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      if (!isAllowed(value.getClass())) {
        throw new IllegalArgumentException(
            value.getClass().getName()
                + " cannot travel as a task value: make it a record implementing "
                + CborSerializable.class.getName());
      }
      gen.writeStartArray();
      gen.writeString(value.getClass().getName());
      provider.defaultSerializeValue(value, gen);
      gen.writeEndArray();
    }
  }

  public static final class Deserializer extends StdDeserializer<Object> {
    private static final long serialVersionUID = 1L;

    public Deserializer() {
      super(Object.class);
    }

    @Override
    public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.currentToken() != JsonToken.START_ARRAY) {
        return ctxt.handleUnexpectedToken(Object.class, p);
      }
      String className = p.nextTextValue();
      Class<?> type = load(className, ctxt);
      p.nextToken();
      Object value = ctxt.readValue(p, type);
      if (p.nextToken() != JsonToken.END_ARRAY) {
        return ctxt.handleUnexpectedToken(Object.class, p);
      }
      return value;
    }

    private static Class<?> load(String className, DeserializationContext ctxt) throws IOException {
      if (className == null) {
        throw ctxt.weirdStringException(null, Object.class, "task value without a class name");
      }
      Class<?> type;
      try {
        type = Class.forName(className, false, AnyValue.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        try {
          type = Class.forName(className, false, Thread.currentThread().getContextClassLoader());
        } catch (ClassNotFoundException again) {
          throw ctxt.weirdStringException(
              className, Object.class, "task value class is not on this node's classpath");
        }
      }
      if (!isAllowed(type)) {
        throw ctxt.weirdStringException(
            className,
            Object.class,
            "task value class does not implement CborSerializable; refused");
      }
      return type;
    }
  }
}
