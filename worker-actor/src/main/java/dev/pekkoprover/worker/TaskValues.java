package dev.pekkoprover.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.EncodedPayload;
import dev.pekkoprover.protocol.PayloadCheck;
import dev.pekkoprover.protocol.PayloadCodec;
import dev.pekkoprover.protocol.SerializedPayload;
import dev.pekkoprover.protocol.TaskEnvelope;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * The values at a worker's edges, checked: a task's input decoded to its type's input class, and a
 * result checked to be able to travel to its queue. A value that fails the check fails its task for
 * good, with the reason given here: running the task again cannot help.
 *
 * <p>Not to miss: only a result bound for another node is serialised to check its size and that it
 * reads back there ({@link PayloadCheck}, {@code prover.worker.max-result-size}), and it then
 * travels as those bytes; in one JVM nothing crosses, so nothing is serialised.
 */
final class TaskValues {

  /**
   * A value that passed, or why not.
   *
   * @param value the input decoded or the result as it is; null when refused
   * @param problem why it was refused, naming the task and the fix; null when it passed
   * @param refusedAs for a refused result, the reason label of {@code prover_results_refused_total}
   *     ({@code not_serializable}, {@code too_large}, {@code unreadable}); null otherwise
   */
  record Checked(Object value, String problem, String refusedAs) {
    static Checked ok(Object value) {
      return new Checked(value, null, null);
    }

    boolean ok() {
      return problem == null;
    }
  }

  private final ObjectMapper json;
  private final PayloadCodec codec;
  private final PayloadCheck results;
  private final long maxResultBytes;

  /**
   * @param maxResultBytes the largest serialised result bound for another node; 0 checks none (in
   *     one JVM)
   */
  TaskValues(ActorSystem<?> system, long maxResultBytes) {
    this.json =
        JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
    this.codec = PayloadCodec.get(system);
    this.results = new PayloadCheck(system, maxResultBytes);
    this.maxResultBytes = maxResultBytes;
  }

  /**
   * The task's input as {@code inputType}: the payload itself when it is one, decoded when it came
   * as the bytes of a {@link SerializedPayload} (from another node), or read from JSON when it came
   * as an {@link EncodedPayload} (and the type does not take the JSON as it is). Refused: bytes or
   * JSON that do not decode, JSON that decodes to null, and a payload of another class.
   */
  Checked input(TaskEnvelope task, Class<?> inputType) {
    Object payload = task.payload();
    if (payload instanceof SerializedPayload serialized) {
      try {
        payload = codec.decode(serialized);
      } catch (Exception e) { // Pekko's Scala API rethrows Jackson's checked exceptions undeclared
        return badInput(
            task,
            inputType,
            "its payload ("
                + serialized
                + ") does not decode on this node, likely because the nodes run different builds"
                + " of its input class: deploy the same build everywhere, and bump the task type's"
                + " version() when its input changes, so that the queue refuses a worker of"
                + " another build instead. The decoder said: "
                + e.getMessage());
      }
    }
    if (payload instanceof EncodedPayload encoded && inputType != EncodedPayload.class) {
      Object decoded;
      try {
        decoded = json.readValue(encoded.json(), inputType);
      } catch (Exception e) {
        return badInput(task, inputType, "its JSON payload does not decode: " + e.getMessage());
      }
      return decoded == null
          ? badInput(task, inputType, "its JSON payload is null")
          : Checked.ok(decoded);
    }
    if (!inputType.isInstance(payload)) {
      String what = payload == null ? "null" : "a " + payload.getClass().getName();
      return badInput(task, inputType, "its payload is " + what);
    }
    return Checked.ok(payload);
  }

  private static Checked badInput(TaskEnvelope task, Class<?> inputType, String why) {
    return new Checked(
        null,
        "task "
            + task.taskId()
            + " (type "
            + task.taskType()
            + ") needs a "
            + inputType.getName()
            + " input, but "
            + why,
        null);
  }

  /**
   * Whether {@code result} can travel as the task's result: a value the protocol carries ({@link
   * AnyValue}); bound for another node ({@code crossesNodes}) also within the size limit and
   * readable there, and then passed as the {@link SerializedPayload} of that check, which is what
   * it travels as. In one JVM (or with checks off) the value passes as it is.
   */
  Checked result(TaskEnvelope task, Object result, boolean crossesNodes) {
    if (result == null || !AnyValue.isAllowed(result.getClass())) {
      return new Checked(
          null,
          "task "
              + task.taskId()
              + " (type "
              + task.taskType()
              + ") returned "
              + (result == null ? "null" : "a " + result.getClass().getName())
              + ", which cannot travel as a task result: return a record implementing "
              + CborSerializable.class.getName(),
          WorkerMeters.NOT_SERIALIZABLE);
    }
    if (crossesNodes && results.enabled()) {
      PayloadCheck.Verdict verdict =
          results.check("result", task.taskId(), task.taskType(), result);
      if (!verdict.ok()) {
        return new Checked(
            null,
            verdict.problem(),
            verdict.bytes() > maxResultBytes ? WorkerMeters.TOO_LARGE : WorkerMeters.UNREADABLE);
      }
      // serialised once: the result travels as the bytes of its check, and its flow decodes them
      return Checked.ok(verdict.serialized());
    }
    return Checked.ok(result);
  }
}
