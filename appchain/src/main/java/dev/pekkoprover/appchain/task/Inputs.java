package dev.pekkoprover.appchain.task;

import dev.pekkoprover.protocol.PermanentTaskFailure;

/**
 * Turning a malformed input (a field that is not hex, a missing value) into a permanent failure
 * naming it.
 */
final class Inputs {
  private Inputs() {}

  static PermanentTaskFailure malformed(String what, RuntimeException cause) {
    return new PermanentTaskFailure(what + ": malformed input: " + cause.getMessage(), cause);
  }

  static <T> T require(T value, String what) {
    if (value == null) {
      throw new PermanentTaskFailure(what + " is missing");
    }
    return value;
  }
}
