package dev.pekkoprover.appchain.proof;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.Map;

/**
 * The appchain's worker registration parameters: every circuit's verification key, and the proving
 * work each proof costs. It comes from circuit compilation ({@code Appchain.registrationParams})
 * and reaches workers only as the payload of the framework's {@code WorkerRegistrationTask}; each
 * task type's {@code prepare} loads the keys of the circuits it proves and verifies from it.
 *
 * @param keysByCircuit circuit id -> the circuit's key (32 bytes, hex)
 * @param provingWork SHA-256 iterations each proof costs its prover (0: none), so benchmarks look
 *     like proving
 */
public record VerificationKeys(Map<String, String> keysByCircuit, long provingWork)
    implements CborSerializable {
  public VerificationKeys {
    keysByCircuit = Map.copyOf(keysByCircuit);
    if (provingWork < 0) {
      throw new IllegalArgumentException("proving work must not be negative, was " + provingWork);
    }
  }
}
