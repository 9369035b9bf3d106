package dev.pekkoprover.protocol;

/**
 * Thrown by {@link TaskType#compute} when retrying cannot help: the input is wrong (a proof that
 * does not verify, a tampered witness, a payload that does not decode). The task fails at once,
 * without the retries a transient failure gets, and its flow fails with this message.
 */
public class PermanentTaskFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PermanentTaskFailure(String message) {
    super(message);
  }

  public PermanentTaskFailure(String message, Throwable cause) {
    super(message, cause);
  }
}
