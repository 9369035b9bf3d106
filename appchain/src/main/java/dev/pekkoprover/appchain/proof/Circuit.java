package dev.pekkoprover.appchain.proof;

import com.typesafe.config.ConfigFactory;
import java.util.List;

/**
 * The appchain's circuits. Every proof names the circuit that made it; each circuit has its own
 * verification key.
 *
 * <p>All but {@link #RUNTIME} are <em>chained</em>: public input and public output have the same
 * three slots {@code [position, a, b]}, and two proofs of a range merge only when the left one's
 * output equals the right one's input in every slot (the position makes a gap visible as "not
 * adjacent").
 */
public enum Circuit {
  /**
   * One transaction's execution. In: [transaction hash]. Out: [commitment of its state
   * transitions].
   */
  RUNTIME("runtime", List.of("transaction hash"), List.of("transition commitment")),
  /**
   * State transitions applied to the Merkle root. Slots: transition index, state root, transition
   * commitment.
   */
  STATE_TRANSITION(
      "state-transition", List.of("transition index", "state root", "transition commitment")),
  /**
   * Transactions of a block. Slots: transaction index, transaction commitment, transition
   * commitment (what the transactions' runtime proofs say they changed).
   */
  TRANSACTION(
      "transaction",
      List.of("transaction index", "transaction commitment", "transition commitment")),
  /**
   * One block. Slots: block number (in: this block, out: the next), block hash (in: the parent's),
   * state root.
   */
  BLOCK("block", List.of("block number", "block hash", "state root")),
  /** Consecutive blocks, for settlement. Same slots as {@link #BLOCK}. */
  BATCH("batch", List.of("block number", "block hash", "state root"));

  private final String id;
  private final List<String> inputs;
  private final List<String> outputs;

  Circuit(String id, List<String> slots) {
    this(id, slots, slots);
  }

  Circuit(String id, List<String> inputs, List<String> outputs) {
    this.id = id;
    this.inputs = inputs;
    this.outputs = outputs;
  }

  /** The name proofs carry and compile requests use. */
  public String id() {
    return id;
  }

  /** Names of the public input slots. */
  public List<String> inputs() {
    return inputs;
  }

  /** Names of the public output slots. */
  public List<String> outputs() {
    return outputs;
  }

  public boolean chained() {
    return this != RUNTIME;
  }

  /**
   * The version of the circuits (their constraints, public inputs and outputs) and of the appchain
   * task types built on them: {@code prover.appchain.circuit-version}, read once per JVM from the
   * default configuration (system properties included, so {@code
   * -Dprover.appchain.circuit-version=2} makes a worker of another circuit version). Every appchain
   * task type reports it as its {@code version()}; bump the default in this module's {@code
   * reference.conf} when a circuit changes incompatibly.
   */
  public static String version() {
    return Version.VALUE;
  }

  /** Read on first use, not at class load: a JVM that never asks needs no configuration. */
  private static final class Version {
    static final String VALUE = ConfigFactory.load().getString("prover.appchain.circuit-version");
  }

  public static Circuit of(String id) {
    for (Circuit circuit : values()) {
      if (circuit.id.equals(id)) {
        return circuit;
      }
    }
    return null;
  }
}
