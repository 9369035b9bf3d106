package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.protocol.PermanentTaskFailure;

/**
 * The merge rule of chained circuits: the left proof's public output must equal the right one's
 * public input.
 */
final class Chaining {
  private Chaining() {}

  /** Verifies both proofs as {@code circuit} and merges them into one proof of the same circuit. */
  static MockProof merge(CircuitKeys keys, Circuit circuit, ProofPair pair) {
    if (pair == null) {
      throw new PermanentTaskFailure("merge of '" + circuit.id() + "' proofs without input");
    }
    keys.verify(pair.left(), circuit, "left proof");
    keys.verify(pair.right(), circuit, "right proof");
    requireAdjacent(circuit, pair.left(), pair.right(), "left proof", "right proof");
    return keys.prove(circuit, pair.left().publicInput(), pair.right().publicOutput());
  }

  /**
   * Fails, naming the first slot that does not chain, unless {@code left}'s output is {@code
   * right}'s input.
   */
  static void requireAdjacent(
      Circuit circuit, MockProof left, MockProof right, String leftName, String rightName) {
    for (int slot = 0; slot < circuit.outputs().size(); slot++) {
      String end = left.out(slot);
      String start = right.in(slot);
      if (!end.equals(start)) {
        String name = circuit.outputs().get(slot);
        String detail =
            slot == 0
                ? "not adjacent: "
                    + leftName
                    + " ends before "
                    + name
                    + " "
                    + end
                    + ", "
                    + rightName
                    + " starts at "
                    + start
                : "the "
                    + name
                    + " does not chain: "
                    + leftName
                    + " ends with "
                    + Sha256.abbreviate(end)
                    + ", "
                    + rightName
                    + " starts from "
                    + Sha256.abbreviate(start);
        throw new PermanentTaskFailure(
            "cannot merge "
                + left.circuit()
                + " proof "
                + range(left)
                + " and "
                + right.circuit()
                + " proof "
                + range(right)
                + ": "
                + detail);
      }
    }
  }

  /** "[3,5)": the positions a chained proof covers. */
  static String range(MockProof proof) {
    return "[" + proof.in(0) + "," + proof.out(0) + ")";
  }
}
