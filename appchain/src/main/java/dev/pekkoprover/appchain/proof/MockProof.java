package dev.pekkoprover.appchain.proof;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * A mock proof, as a real prover's proof with proving switched off: which circuit made it, the hash
 * of that circuit's verification key, its public input and output (hashes in hex, numbers in
 * decimal), and a digest over all of them that only the circuit's key reproduces. Verification
 * ({@link CircuitKeys#verify}) recomputes the digest, so a proof made with another key, or with any
 * field changed after proving, is refused.
 */
public record MockProof(
    String circuit,
    String vkHash,
    List<String> publicInput,
    List<String> publicOutput,
    String digest)
    implements CborSerializable {

  public MockProof {
    publicInput = List.copyOf(publicInput);
    publicOutput = List.copyOf(publicOutput);
  }

  public String in(int slot) {
    return publicInput.get(slot);
  }

  public String out(int slot) {
    return publicOutput.get(slot);
  }

  /**
   * Checks this proof under {@code keys}; throws {@code PermanentTaskFailure} naming what failed.
   */
  public void verify(VerificationKeys keys) {
    Circuit expected = Circuit.of(circuit);
    if (expected == null) {
      throw CircuitKeys.refuse("proof", "names unknown circuit '" + circuit + "'");
    }
    CircuitKeys.load(keys, expected).verify(this, expected, "proof");
  }

  /** Same proof with another public output: what a forger would try. For tests. */
  public MockProof withPublicOutput(List<String> output) {
    return new MockProof(circuit, vkHash, publicInput, output, digest);
  }

  @Override
  public String toString() {
    return "MockProof[" + circuit + " " + publicInput + " -> " + publicOutput + "]";
  }
}
