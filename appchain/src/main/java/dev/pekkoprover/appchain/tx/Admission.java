package dev.pekkoprover.appchain.tx;

/** The mempool's answer to a submitted transaction. */
public sealed interface Admission {

  boolean accepted();

  /** Taken into the mempool; it will be in a block. */
  record Accepted(String txHash) implements Admission {
    @Override
    public boolean accepted() {
      return true;
    }
  }

  /**
   * Refused, with the reason and a message that says what did not hold. It will never be in a
   * block.
   */
  record Refused(String txHash, RefusalReason reason, String message) implements Admission {
    @Override
    public boolean accepted() {
      return false;
    }
  }
}
