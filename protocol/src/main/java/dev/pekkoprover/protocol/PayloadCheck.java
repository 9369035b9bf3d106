package dev.pekkoprover.protocol;

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
 * transit. Costs one serialisation and one deserialisation of the value; values that stay in one
 * JVM are never checked.
 */
public final class PayloadCheck {
  private final Serialization serialization;
  private final long maxBytes;

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
   * The outcome of a check: the serialised size (0 when checks are off) and why the value cannot
   * cross a node, or null when it can.
   */
  public record Verdict(int bytes, String problem) {
    static final Verdict UNCHECKED = new Verdict(0, null);

    public boolean ok() {
      return problem == null;
    }
  }

  /** Why this value cannot cross a node, or null when it can (or when checks are off). */
  public String problem(String what, String taskId, String taskType, Object value) {
    return check(what, taskId, taskType, value).problem();
  }

  /**
   * Checks a value: its serialised size and, when it cannot cross a node, why.
   *
   * @param what "input" or "result", for the reason
   */
  public Verdict check(String what, String taskId, String taskType, Object value) {
    if (maxBytes <= 0 || value == null) {
      return Verdict.UNCHECKED;
    }
    String task = "the " + what + " of task " + taskId + " (type " + taskType + ")";
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
      return new Verdict(
          bytes.length,
          task
              + " is "
              + bytes.length
              + " bytes serialised, over the "
              + maxBytes
              + "-byte limit (prover.queue.cluster.max-payload-size): split the work into smaller tasks, or raise that "
              + "limit together with pekko.remote.artery.advanced.maximum-frame-size");
    }
    try {
      serialization
          .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, value))
          .get();
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
    return new Verdict(bytes.length, null);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "no message";
    }
    int end = message.indexOf('\n');
    return end < 0 ? message : message.substring(0, end);
  }
}
