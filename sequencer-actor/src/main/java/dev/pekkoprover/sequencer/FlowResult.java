package dev.pekkoprover.sequencer;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.pekkoprover.protocol.AnyValue;
import dev.pekkoprover.protocol.CborSerializable;

/** How a flow ended, told to whoever started it. */
public sealed interface FlowResult extends CborSerializable {

  String flowId();

  FlowStats stats();

  record Completed(
      String flowId,
      @JsonSerialize(using = AnyValue.Serializer.class) @JsonDeserialize(using = AnyValue.Deserializer.class)
          Object result,
      FlowStats stats)
      implements FlowResult {}

  /** The flow failed; {@code reason} names the task, its type, its attempts and the last error. */
  record Failed(String flowId, String reason, FlowStats stats) implements FlowResult {}

  /**
   * @param tasks tasks the flow pushed
   * @param duplicates results dropped because the task's result had already been accepted
   * @param staleResults results dropped because they carried another sequencer run id
   * @param resent tasks sent to the queue again: the queue no longer held them, or a queue node was lost
   */
  record FlowStats(int tasks, int duplicates, int staleResults, int resent) implements CborSerializable {}
}
