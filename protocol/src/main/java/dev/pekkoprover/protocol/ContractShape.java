package dev.pekkoprover.protocol;

import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
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
 * <p>What is looked into: records, enums (their constants' names, read without initialising the
 * enum) and classes that implement {@link CborSerializable} (the task code's own messages). Every
 * other class counts by name alone: a JDK or library class, whose private fields may differ between
 * JDK or library releases of the same build, an interface or an abstract class (a polymorphic
 * value). Fields are taken in name order (Jackson reads and writes properties by name, so their
 * order in the source does not matter); static and transient fields, which Jackson does not write,
 * are left out. A class is spelt out at its first occurrence and named alone after that (a class
 * met again inside itself, or used by several fields), so a graph of records that share classes
 * stays short. A class whose fields cannot be read (a missing class on the class path) counts by
 * name, marked {@code ?}.
 */
public final class ContractShape {
  private ContractShape() {}

  /**
   * The first 8 hex digits of the SHA-256 of the shape of {@code type}'s input and result classes
   * ({@link #describe}).
   */
  public static String digestOf(TaskType<?, ?> type) {
    String text = "in " + describe(type.inputType()) + "; out " + describe(type.resultType());
    return CatalogFingerprint.sha256Hex(text, 4);
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

  private static void describe(Type type, StringBuilder text, Set<Class<?>> seen) {
    if (type instanceof ParameterizedType parameterized) {
      describe(parameterized.getRawType(), text, seen);
      text.append('<');
      Type[] arguments = parameterized.getActualTypeArguments();
      for (int i = 0; i < arguments.length; i++) {
        if (i > 0) {
          text.append(',');
        }
        describe(arguments[i], text, seen);
      }
      text.append('>');
    } else if (type instanceof GenericArrayType array) {
      describe(array.getGenericComponentType(), text, seen);
      text.append("[]");
    } else if (type instanceof Class<?> c) {
      describeClass(c, text, seen);
    } else {
      text.append(type.getTypeName()); // a type variable or a wildcard
    }
  }

  private static void describeClass(Class<?> c, StringBuilder text, Set<Class<?>> seen) {
    if (c.isArray()) {
      describe(c.getComponentType(), text, seen);
      text.append("[]");
      return;
    }
    text.append(c.getName());
    boolean ours = c.isRecord() || c.isEnum() || CborSerializable.class.isAssignableFrom(c);
    if (!ours
        || c.isInterface()
        || (Modifier.isAbstract(c.getModifiers()) && !c.isEnum())
        || !seen.add(c)) {
      return;
    }
    int start = text.length();
    try {
      if (c.isEnum()) {
        List<String> constants = new ArrayList<>();
        for (Field field : c.getDeclaredFields()) {
          if (field.isEnumConstant()) {
            constants.add(field.getName());
          }
        }
        constants.sort(null);
        text.append('{').append(String.join(",", constants)).append('}');
        return;
      }
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
        describe(sorted[i].type(), text, seen);
      }
      text.append(')');
    } catch (LinkageError | RuntimeException unreadable) {
      // a field's class missing from the class path, a malformed generic signature: the name,
      // marked, rather than a node that cannot start; the same build fails alike everywhere
      text.setLength(start);
      text.append('?');
    }
  }

  private record Property(String name, Type type) {}
}
