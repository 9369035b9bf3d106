package dev.pekkoprover.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Text;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A task's input decoded or refused with a reason; a result refused when it could not reach its
 * queue, and why.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TaskValuesTest {
  private static final int LIMIT = 1_000;

  /**
   * A field of an interface type: it serialises, but the other node could not tell which class to
   * read.
   */
  interface Shape {}

  record Circle(int radius) implements Shape {}

  record Drawing(Shape shape) implements CborSerializable {}

  /** Readable or not by its value: the shape's field is fine while it is null. */
  record Sketch(String title, Shape shape) implements CborSerializable {}

  private final ActorTestKit testKit = ActorTestKit.create("TaskValuesTest", TestConfig.config());
  private final TaskValues values = new TaskValues(testKit.system(), LIMIT);
  private final Serialization serialization =
      SerializationExtension.get(Adapter.toClassic(testKit.system()));

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private static TaskEnvelope task(Object payload) {
    return new TaskEnvelope("t1", "f", "r", "square", 1, payload);
  }

  @Test
  void anInputOfItsTypePassesAsItIs() {
    Num input = Num.of(3);
    TaskValues.Checked checked = values.input(task(input), Num.class);
    assertTrue(checked.ok());
    assertEquals(input, checked.value());
  }

  @Test
  void aJsonInputIsReadAsTheTypesInputClassUnlessTheTypeTakesTheJson() {
    EncodedPayload json = new EncodedPayload("{\"value\": 4, \"mode\": \"\"}");
    assertEquals(Num.of(4), values.input(task(json), Num.class).value());
    assertEquals(json, values.input(task(json), EncodedPayload.class).value());
  }

  @Test
  void aBadInputIsRefusedWithTheTaskAndWhy() {
    TaskValues.Checked wrongClass = values.input(task("text"), Num.class);
    assertFalse(wrongClass.ok());
    assertNull(wrongClass.value());
    assertEquals(
        "task t1 (type square) needs a "
            + Num.class.getName()
            + " input, but its payload is a "
            + String.class.getName(),
        wrongClass.problem());
    assertTrue(values.input(task(null), Num.class).problem().endsWith("its payload is null"));
    assertTrue(
        values
            .input(task(new EncodedPayload("{")), Num.class)
            .problem()
            .contains("its JSON payload does not decode"));
    assertTrue(
        values
            .input(task(new EncodedPayload("null")), Num.class)
            .problem()
            .endsWith("its JSON payload is null"));
    assertNull(wrongClass.refusedAs(), "no result meter for an input");
  }

  @Test
  void aResultThatIsNoProtocolValueIsRefusedWhereverItGoes() {
    TaskValues.Checked none = values.result(task(Num.of(1)), null, false);
    assertEquals("not_serializable", none.refusedAs());
    assertTrue(none.problem().contains("returned null"), none.problem());
    TaskValues.Checked plain = values.result(task(Num.of(1)), new Object(), false);
    assertEquals("not_serializable", plain.refusedAs());
    assertTrue(
        plain
            .problem()
            .contains("return a record implementing " + CborSerializable.class.getName()));
  }

  @Test
  void onlyAResultBoundForAnotherNodeIsCheckedForSizeAndReadability() {
    Text large = Text.ofSize(2 * LIMIT, false);
    assertTrue(values.result(task(Num.of(1)), large, false).ok(), "in one JVM nothing crosses");
    TaskValues.Checked tooLarge = values.result(task(Num.of(1)), large, true);
    assertEquals("too_large", tooLarge.refusedAs());
    assertTrue(
        tooLarge.problem().contains("over the " + LIMIT + "-byte limit"), tooLarge.problem());

    Drawing drawing = new Drawing(new Circle(2));
    assertTrue(values.result(task(Num.of(1)), drawing, false).ok());
    TaskValues.Checked unreadable = values.result(task(Num.of(1)), drawing, true);
    assertEquals("unreadable", unreadable.refusedAs());
    assertTrue(unreadable.problem().contains("cannot be read back"), unreadable.problem());

    Num small = Num.of(9);
    assertEquals(small, values.result(task(Num.of(1)), small, false).value(), "live in one JVM");
    TaskValues.Checked fits = values.result(task(Num.of(1)), small, true);
    assertTrue(fits.ok());
    // bound for another node, it travels as the bytes of its check: serialised once
    SerializedPayload carried = assertInstanceOf(SerializedPayload.class, fits.value());
    assertEquals(small, SerializedPayload.decode(serialization, carried));
  }

  @Test
  void anInputThatCameAsBytesIsDecodedToItsType() {
    Num input = Num.of(5);
    TaskValues.Checked checked = values.input(task(serialized(input)), Num.class);
    assertTrue(checked.ok(), checked.problem());
    assertEquals(input, checked.value());
    // bytes of JSON text, as a front makes of an EncodedPayload, are read as JSON after decoding
    EncodedPayload json = new EncodedPayload("{\"value\": 6, \"mode\": \"\"}");
    assertEquals(Num.of(6), values.input(task(serialized(json)), Num.class).value());
    // decoded, but of another class
    assertTrue(
        values
            .input(task(serialized("text")), Num.class)
            .problem()
            .endsWith("its payload is a " + String.class.getName()));
  }

  @Test
  void anInputWhoseBytesDoNotDecodeIsRefusedWithTheTaskAndWhy() {
    SerializedPayload garbage =
        new SerializedPayload(
            serialized(Num.of(1)).serializerId(), Num.class.getName(), new byte[] {1, 2, 3});
    TaskValues.Checked refused = values.input(task(garbage), Num.class);
    assertFalse(refused.ok());
    assertNull(refused.value());
    assertTrue(
        refused.problem().startsWith("task t1 (type square) needs a " + Num.class.getName()),
        refused.problem());
    assertTrue(refused.problem().contains("does not decode on this node"), refused.problem());
    assertTrue(
        refused
            .problem()
            .contains(
                "deploy the same build everywhere, and bump the task type's version() when its"
                    + " input changes"),
        "what to do: " + refused.problem());
    SerializedPayload unknownClass =
        new SerializedPayload(
            serialized(Num.of(1)).serializerId(), "no.such.Clazz", serialized(Num.of(1)).bytes());
    assertTrue(
        values
            .input(task(unknownClass), Num.class)
            .problem()
            .contains("does not decode on this node"));
  }

  private SerializedPayload serialized(Object value) {
    return SerializedPayload.of(serialization, value);
  }

  /**
   * The read-back is once per class: the first readable value of a class is read back, later ones
   * are not; a class that does not read back is refused every time; and a later value that would
   * not have read back is not lost, its decode on the other node fails its task with the reason.
   */
  @Test
  void aClassIsReadBackOnceAndAValueThatSlipsThroughFailsAtItsDecodeWithTheReason() {
    TaskValues fresh = new TaskValues(testKit.system(), LIMIT);
    Drawing drawing = new Drawing(new Circle(1));
    assertEquals("unreadable", fresh.result(task(Num.of(1)), drawing, true).refusedAs());
    assertEquals(
        "unreadable",
        fresh.result(task(Num.of(1)), drawing, true).refusedAs(),
        "a class that failed its read-back is read back again, and refused again");

    assertTrue(fresh.result(task(Num.of(1)), new Sketch("blank", null), true).ok());
    TaskValues.Checked slipped =
        fresh.result(task(Num.of(1)), new Sketch("c", new Circle(3)), true);
    assertTrue(slipped.ok(), "its class read back once: this value is not read back");
    SerializedPayload bytes = assertInstanceOf(SerializedPayload.class, slipped.value());

    TaskValues.Checked decoded = fresh.input(task(bytes), Sketch.class);
    assertFalse(decoded.ok());
    assertTrue(decoded.problem().contains("does not decode on this node"), decoded.problem());
    assertTrue(decoded.problem().contains("task t1 (type square)"), decoded.problem());
  }
}
