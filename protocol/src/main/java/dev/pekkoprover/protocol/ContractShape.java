package dev.pekkoprover.protocol;

import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * The shape of a task type's input and result classes: their names and, for records and other
 * classes of the task's own code, every field's name and type, through nested classes and type
 * arguments. Two builds whose classes read and write the same properties have the same shape; a
 * renamed field, a field added or removed, or a field of another type give another. The queue
 * compares it with a worker's beside {@link TaskType#version()} ({@link CatalogFingerprint}): a
 * worker built with another result record but the same declared version would otherwise be handed
 * work, and the sequencer would read its results with the changed properties left null or default
 * (Jackson ignores properties it does not know), which a trial saw turn into a wrong root with no
 * error on any node.
 *
 * <p>Classes of the JDK ({@code java.*}, {@code javax.*}) count by name alone. Fields are taken in
 * name order (Jackson reads and writes properties by name, so their order in the source does not
 * matter); static and transient fields, which Jackson does not write, are left out; an interface or
 * an abstract class (a polymorphic value) counts by name; a class met again inside itself counts by
 * name there.
 */
public final class ContractShape {
  private ContractShape() {}

  /**
   * The first 8 hex digits of the SHA-256 of the shape of {@code type}'s input and result classes
   * ({@link #describe}).
   */
  public static String digestOf(TaskType<?, ?> type) {
    String text = "in " + describe(type.inputType()) + "; out " + describe(type.resultType());
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /**
   * The shape of {@code type} as text, e.g. {@code
   * com.example.Hash(count:long,hex:java.lang.String)} or {@code
   * java.util.List<com.example.Leaf(from:long,to:long)>}.
   */
  public static String describe(Type type) {
    StringBuilder text = new StringBuilder();
    describe(type, text, new HashSet<>());
    return text.toString();
  }

  private static void describe(Type type, StringBuilder text, Set<Class<?>> open) {
    if (type instanceof ParameterizedType parameterized) {
      describe(parameterized.getRawType(), text, open);
      text.append('<');
      Type[] arguments = parameterized.getActualTypeArguments();
      for (int i = 0; i < arguments.length; i++) {
        if (i > 0) {
          text.append(',');
        }
        describe(arguments[i], text, open);
      }
      text.append('>');
    } else if (type instanceof GenericArrayType array) {
      describe(array.getGenericComponentType(), text, open);
      text.append("[]");
    } else if (type instanceof Class<?> c) {
      describeClass(c, text, open);
    } else {
      text.append(type.getTypeName()); // a type variable or a wildcard
    }
  }

  private static void describeClass(Class<?> c, StringBuilder text, Set<Class<?>> open) {
    if (c.isArray()) {
      describe(c.getComponentType(), text, open);
      text.append("[]");
      return;
    }
    text.append(c.getName());
    if (c.isPrimitive()
        || c.getName().startsWith("java.")
        || c.getName().startsWith("javax.")
        || c.isInterface()
        || (Modifier.isAbstract(c.getModifiers()) && !c.isEnum())
        || !open.add(c)) {
      return;
    }
    if (c.isEnum()) {
      List<String> constants = new ArrayList<>();
      for (Object constant : c.getEnumConstants()) {
        constants.add(((Enum<?>) constant).name());
      }
      constants.sort(null);
      text.append('{').append(String.join(",", constants)).append('}');
    } else {
      List<Property> properties = new ArrayList<>();
      if (c.isRecord()) {
        for (RecordComponent component : c.getRecordComponents()) {
          properties.add(new Property(component.getName(), component.getGenericType()));
        }
      } else {
        for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
          for (Field field : k.getDeclaredFields()) {
            int modifiers = field.getModifiers();
            if (!Modifier.isStatic(modifiers)
                && !Modifier.isTransient(modifiers)
                && !field.isSynthetic()) {
              properties.add(new Property(field.getName(), field.getGenericType()));
            }
          }
        }
      }
      Property[] sorted = properties.toArray(Property[]::new);
      Arrays.sort(sorted, (a, b) -> a.name().compareTo(b.name()));
      text.append('(');
      for (int i = 0; i < sorted.length; i++) {
        if (i > 0) {
          text.append(',');
        }
        text.append(sorted[i].name()).append(':');
        describe(sorted[i].type(), text, open);
      }
      text.append(')');
    }
    open.remove(c);
  }

  private record Property(String name, Type type) {}
}
