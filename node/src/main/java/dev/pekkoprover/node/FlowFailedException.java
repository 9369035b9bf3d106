package dev.pekkoprover.node;

/**
 * A flow ended in failure; the message names the task, its type, its attempts and the last reason.
 */
public final class FlowFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String flowId;

  public FlowFailedException(String flowId, String reason) {
    super("flow " + flowId + " failed: " + reason);
    this.flowId = flowId;
  }

  public String flowId() {
    return flowId;
  }
}
