package dev.pekkoprover.bench;

/**
 * A measurement that cannot run in this deployment (yet); the harness prints {@code skipped
 * reason=...}.
 */
public final class WorkloadSkipped extends Exception {
  private static final long serialVersionUID = 1L;

  public WorkloadSkipped(String reason) {
    super(reason);
  }
}
