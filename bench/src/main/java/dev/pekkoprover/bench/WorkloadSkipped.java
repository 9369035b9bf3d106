package dev.pekkoprover.bench;

/** A measurement that cannot run in this deployment (yet); the harness prints {@code skipped reason=...}. */
public final class WorkloadSkipped extends Exception {
  public WorkloadSkipped(String reason) {
    super(reason);
  }
}
