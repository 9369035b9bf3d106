package dev.pekkoprover.protocol;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;

/**
 * Whether a task input or result can cross a node: it must serialise, fit the size limit, and
 * deserialise again. Used where a value is about to leave its node (a queue front on enqueue, a
 * worker for a result bound for another node), so that a value the transport would drop, or that
 * the other node could not read, fails its task at once with a reason instead of being lost in
 * transit. Costs one serialisation of the value, kept ({@link Verdict#serialized()}) so that the
 * value is not serialised again on its way; values that stay in one JVM are never checked.
 *
 * <p>The read-back (a deserialisation of the bytes just written) is done for the first value of
 * each serialised form (serializer and manifest, in effect the value's class) that passes, not for
 * every value: what makes a value unreadable is nearly always its class (a field of an interface
 * type without type information, a class without a creator Jackson can use), and reading back every
 * value cost a fifth of the CPU of a sequencer node pushing small inputs across processes (JFR,
 * {@code BENCHMARKS.md}). A value whose class read back once but which itself does not (a
 * polymorphic field that was null in the first value) is not lost: the node that decodes it fails
 * its task with the reason ({@link SerializedPayload#decode} and its callers).
 */
public final class PayloadCheck {
  private final Serialization serialization;
  private final long maxBytes;

  /**
   * Serialised forms that read back once; a few per task catalog. A record, not a joined string:
   * Jackson's manifest is the class's own name, whose hash the JVM keeps, so a look-up hashes
   * nothing new (joining the two cost 2% of a sequencer node's CPU pushing small inputs).
   */
  private record Form(int serializerId, String manifest) {}

  private final Set<Form> readBack = ConcurrentHashMap.newKeySet();

  /**
   * @param maxBytes the largest serialised value; 0 checks nothing
   */
  public PayloadCheck(ActorSystem<?> system, long maxBytes) {
    this.serialization = SerializationExtension.get(Adapter.toClassic(system));
    this.maxBytes = maxBytes;
  }

  public boolean enabled() {
    return maxBytes > 0;
  }

  /**
   * The outcome of a check: the serialised size (0 when checks are off), why the value cannot cross
   * a node (null when it can), and the value's serialised form when it passed (null when checks are
   * off or it failed). The serialised form is what the value travels as from then on, so that it is
   * serialised once.
   */
  public record Verdict(int bytes, String problem, SerializedPayload serialized) {
    static final Verdict UNCHECKED = new Verdict(0, null, null);

    Verdict(int bytes, String problem) {
      this(bytes, problem, null);
    }

    public boolean ok() {
      return problem == null;
    }
  }

  /** Why this value cannot cross a node, or null when it can (or when checks are off). */
  public String problem(String what, String taskId, String taskType, Object value) {
    return check(what, taskId, taskType, value).problem();
  }

  /**
   * Checks a value: its serialised size and, when it cannot cross a node, why. A value that is
   * already a {@link SerializedPayload} is checked by its length alone (it read back where it was
   * made, and is decoded where it is used).
   *
   * @param what "input" or "result", for the reason
   */
  public Verdict check(String what, String taskId, String taskType, Object value) {
    if (maxBytes <= 0 || value == null) {
      return Verdict.UNCHECKED;
    }
    String task = "the " + what + " of task " + taskId + " (type " + taskType + ")";
    if (value instanceof SerializedPayload serialized) {
      return serialized.size() > maxBytes
          ? new Verdict(serialized.size(), tooLarge(task, serialized.size()))
          : new Verdict(serialized.size(), null, serialized);
    }
    byte[] bytes;
    Serializer serializer;
    try {
      serializer = serialization.findSerializerFor(value);
      bytes = serializer.toBinary(value);
    } catch (
        Exception e) { // Jackson's checked exceptions come through Pekko's Scala API undeclared
      return new Verdict(
          0,
          task
              + ", a "
              + value.getClass().getName()
              + ", does not serialise ("
              + e.getMessage()
              + "): make it a record implementing "
              + CborSerializable.class.getName());
    }
    if (bytes.length > maxBytes) {
      return new Verdict(bytes.length, tooLarge(task, bytes.length));
    }
    String manifest = Serializers.manifestFor(serializer, value);
    Form form = new Form(serializer.identifier(), manifest);
    if (readBack.contains(form)) {
      return new Verdict(
          bytes.length, null, new SerializedPayload(serializer.identifier(), manifest, bytes));
    }
    try {
      serialization.deserialize(bytes, serializer.identifier(), manifest).get();
    } catch (Exception e) { // as above: a JsonMappingException is an IOException
      return new Verdict(
          bytes.length,
          task
              + ", a "
              + value.getClass().getName()
              + ", serialises but cannot be "
              + "read back, so it cannot cross a node ("
              + firstLine(e.getMessage())
              + "): give every field a concrete "
              + "type (a field of an interface or abstract type needs @JsonTypeInfo, or a concrete record)");
    }
    readBack.add(form);
    return new Verdict(
        bytes.length, null, new SerializedPayload(serializer.identifier(), manifest, bytes));
  }

  private String tooLarge(String task, int bytes) {
    return task
        + " is "
        + bytes
        + " bytes serialised, over the "
        + maxBytes
        + "-byte limit (prover.queue.cluster.max-payload-size): split the work into smaller tasks, or raise that "
        + "limit together with pekko.remote.artery.advanced.maximum-frame-size";
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no message";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
  }
}
