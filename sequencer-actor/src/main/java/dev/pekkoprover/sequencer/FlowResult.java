package dev.pekkoprover.sequencer;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.Map;

/** How a flow ended, told to whoever started it. */
public sealed interface FlowResult extends CborSerializable {

  String flowId();

  FlowStats stats();

  /**
   * @param restored the flow's name had completed before (durability on): this is its stored
   *     result, and nothing ran
   */
  record Completed(
      String flowId,
      @JsonSerialize(using = AnyValue.Serializer.class)
          @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result,
      FlowStats stats,
      boolean restored)
      implements FlowResult {

    public Completed(String flowId, Object result, FlowStats stats) {
      this(flowId, result, stats, false);
    }
  }

  /** The flow failed; {@code reason} names the task, its type, its attempts and the last error. */
  record Failed(String flowId, String reason, FlowStats stats) implements FlowResult {}

  /**
   * @param tasks tasks the flow pushed
   * @param duplicates results dropped because the task's result had already been accepted
   * @param staleResults results dropped because they carried another sequencer run id
   * @param resent tasks sent to the queue again: the queue no longer held them, or a queue node was
   *     lost
   * @param reused tasks completed without running (durability on): their result was in the result
   *     store, or another flow computed the same task meanwhile
   * @param reusedPerType {@code reused} by task type name (empty when none)
   */
  record FlowStats(
      int tasks,
      int duplicates,
      int staleResults,
      int resent,
      int reused,
      Map<String, Integer> reusedPerType)
      implements CborSerializable {
    /** Nothing done: a flow refused, or one whose outcome came from the store as a whole. */
    public static final FlowStats NONE = new FlowStats(0, 0, 0, 0, 0, Map.of());

    /** Stats from a sequencer of an earlier build, without the field, have no per-type counts. */
    public FlowStats {
      reusedPerType = reusedPerType == null ? Map.of() : reusedPerType;
    }
  }
}
