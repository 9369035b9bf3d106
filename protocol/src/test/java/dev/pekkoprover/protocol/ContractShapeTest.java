package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the shape of a task's classes holds, and what changes it. */
class ContractShapeTest {
  enum Curve {
    BN254,
    BLS12_381
  }

  record Leaf(long from, long to) implements CborSerializable {}

  record Hash(String hex, int count) implements CborSerializable {}

  record HashRenamed(String digest, int count) implements CborSerializable {}

  record HashOtherType(String hex, long count) implements CborSerializable {}

  record HashReordered(int count, String hex) implements CborSerializable {}

  record Batch(List<Leaf> leaves, Map<String, Curve> curves, byte[] witness, Node root)
      implements CborSerializable {}

  record Node(String label, Node left, Node right) implements CborSerializable {}

  /** A class that is no record: its fields count, not its static or transient ones. */
  static class Legacy implements CborSerializable {
    static final int VERSION = 3;
    long amount;
    transient String cache;
  }

  @Test
  void aRecordsShapeIsItsComponentsByNameThroughNestedClassesAndTypeArguments() {
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Hash(count:int,hex:java.lang.String)",
        ContractShape.describe(Hash.class));
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Batch("
            + "curves:java.util.Map<java.lang.String,"
            + "dev.pekkoprover.protocol.ContractShapeTest$Curve{BLS12_381,BN254}>,"
            + "leaves:java.util.List<dev.pekkoprover.protocol.ContractShapeTest$Leaf(from:long,to:long)>,"
            + "root:dev.pekkoprover.protocol.ContractShapeTest$Node(label:java.lang.String,"
            + "left:dev.pekkoprover.protocol.ContractShapeTest$Node,"
            + "right:dev.pekkoprover.protocol.ContractShapeTest$Node),"
            + "witness:byte[])",
        ContractShape.describe(Batch.class));
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Legacy(amount:long)",
        ContractShape.describe(Legacy.class));
    assertEquals("java.lang.Long", ContractShape.describe(Long.class));
  }

  @Test
  void aRenamedFieldOrAnotherTypeChangesTheShapeAndTheOrderInTheSourceDoesNot() {
    String shape = ContractShape.describe(Hash.class).replace("$Hash(", "(");
    assertNotEquals(shape, ContractShape.describe(HashRenamed.class).replace("$HashRenamed(", "("));
    assertNotEquals(
        shape, ContractShape.describe(HashOtherType.class).replace("$HashOtherType(", "("));
    assertEquals(
        shape, ContractShape.describe(HashReordered.class).replace("$HashReordered(", "("));
  }

  /** A library's class (here the JDK's and one of our own that is no message) counts by name. */
  static final class NotAMessage {
    long hidden;
  }

  record UsesLibraries(java.time.Duration timeout, NotAMessage other) implements CborSerializable {}

  record Generic<T>(T value, List<T> values) implements CborSerializable {}

  record Shared(Leaf first, Leaf second) implements CborSerializable {}

  /** A non-static inner class: its synthetic reference to the outer instance is no property. */
  class Inner implements CborSerializable {
    long amount;
  }

  @Test
  void onlyRecordsEnumsAndMessagesAreLookedIntoAndEachClassIsSpeltOutOnce() {
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$UsesLibraries("
            + "other:dev.pekkoprover.protocol.ContractShapeTest$NotAMessage,"
            + "timeout:java.time.Duration)",
        ContractShape.describe(UsesLibraries.class));
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Generic(value:T,values:java.util.List<T>)",
        ContractShape.describe(Generic.class));
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Shared("
            + "first:dev.pekkoprover.protocol.ContractShapeTest$Leaf(from:long,to:long),"
            + "second:dev.pekkoprover.protocol.ContractShapeTest$Leaf)",
        ContractShape.describe(Shared.class));
    assertEquals(
        "dev.pekkoprover.protocol.ContractShapeTest$Inner(amount:long)",
        ContractShape.describe(Inner.class));
  }

  @Test
  void theDigestCoversInputAndResult() {
    TaskType<Leaf, Hash> leaf = type(Leaf.class, Hash.class);
    assertEquals(8, ContractShape.digestOf(leaf).length());
    assertEquals(
        ContractShape.digestOf(leaf), ContractShape.digestOf(type(Leaf.class, Hash.class)));
    assertNotEquals(
        ContractShape.digestOf(leaf), ContractShape.digestOf(type(Leaf.class, HashRenamed.class)));
    assertNotEquals(
        ContractShape.digestOf(leaf), ContractShape.digestOf(type(Hash.class, Hash.class)));
  }

  private static <I, R> TaskType<I, R> type(Class<I> input, Class<R> result) {
    return new NamedTaskType<>("leaf", input, result) {
      @Override
      public R compute(I in, TaskContext context) {
        throw new UnsupportedOperationException("not run");
      }
    };
  }
}
