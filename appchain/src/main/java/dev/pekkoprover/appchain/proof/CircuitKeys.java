package dev.pekkoprover.appchain.proof;

import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.security.MessageDigest;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The circuits a task type has loaded: the prepared state its {@code prepare} returns, as a real
 * prover loads its circuits once per worker. It makes proofs of those circuits and verifies proofs
 * made by them; a task can only use circuits it loaded, so a missing key shows at prepare time, not
 * in the middle of a flow.
 *
 * <p>Immutable and thread-safe: a worker running several tasks of one type at once shares it.
 */
public final class CircuitKeys {
  private final Map<Circuit, byte[]> keys;
  private final Map<Circuit, String> vkHashes;
  private final long provingWork;

  private CircuitKeys(Map<Circuit, byte[]> keys, Map<Circuit, String> vkHashes, long provingWork) {
    this.keys = keys;
    this.vkHashes = vkHashes;
    this.provingWork = provingWork;
  }

  /**
   * The keys of {@code circuits} from registration parameters; fails naming a circuit whose key is
   * missing.
   */
  public static CircuitKeys load(VerificationKeys registration, Circuit... circuits) {
    Map<Circuit, byte[]> keys = new EnumMap<>(Circuit.class);
    Map<Circuit, String> vkHashes = new EnumMap<>(Circuit.class);
    for (Circuit circuit : circuits) {
      String key = registration.keysByCircuit().get(circuit.id());
      if (key == null) {
        throw new IllegalStateException(
            "the registration parameters carry no verification key for circuit '"
                + circuit.id()
                + "' (they have "
                + registration.keysByCircuit().keySet()
                + "); compile every circuit before registering workers");
      }
      byte[] bytes = Sha256.unhex(key, "verification key of circuit '" + circuit.id() + "'");
      keys.put(circuit, bytes);
      vkHashes.put(circuit, vkHash(bytes));
    }
    return new CircuitKeys(keys, vkHashes, registration.provingWork());
  }

  /**
   * What a task type's {@code prepare} returns: its circuits, loaded from the worker's registration
   * parameters.
   */
  public static CircuitKeys prepare(TaskContext context, Circuit... circuits) {
    return load(context.registration(VerificationKeys.class), circuits);
  }

  /** The hash a proof of a circuit with this key carries. */
  public static String vkHash(byte[] key) {
    return Sha256.hex(Sha256.hash(Sha256.KEY, key));
  }

  /**
   * Proves: spends the proving work, then signs the public input and output with the circuit's key.
   */
  public MockProof prove(Circuit circuit, List<String> publicInput, List<String> publicOutput) {
    byte[] key = key(circuit);
    String vkHash = vkHashes.get(circuit);
    byte[] digest = digest(key, circuit.id(), vkHash, publicInput, publicOutput);
    work(provingWork, digest);
    return new MockProof(circuit.id(), vkHash, publicInput, publicOutput, Sha256.hex(digest));
  }

  /**
   * Checks that {@code proof} is a valid proof of {@code expected}.
   *
   * @param what names the proof in the error ("left proof", "runtime proof of transaction 3 of
   *     block 7")
   * @throws PermanentTaskFailure naming the proof, its circuit and what did not match
   */
  public void verify(MockProof proof, Circuit expected, String what) {
    if (proof == null) {
      throw refuse(what, "is missing");
    }
    if (!expected.id().equals(proof.circuit())) {
      throw refuse(
          what,
          "is a proof of circuit '" + proof.circuit() + "', expected '" + expected.id() + "'");
    }
    if (proof.publicInput().size() != expected.inputs().size()
        || proof.publicOutput().size() != expected.outputs().size()) {
      throw refuse(
          what,
          "(circuit '"
              + expected.id()
              + "') has "
              + proof.publicInput().size()
              + " public inputs and "
              + proof.publicOutput().size()
              + " outputs, the circuit has "
              + expected.inputs().size()
              + " and "
              + expected.outputs().size());
    }
    String vkHash = vkHashes.get(expected);
    if (vkHash == null) {
      throw new IllegalStateException(
          "circuit '" + expected.id() + "' was not loaded by this task type");
    }
    if (!vkHash.equals(proof.vkHash())) {
      throw refuse(
          what,
          "(circuit '"
              + expected.id()
              + "') was made with verification key "
              + Sha256.abbreviate(proof.vkHash())
              + ", not the circuit's key "
              + Sha256.abbreviate(vkHash)
              + ": wrong key");
    }
    String digest =
        Sha256.hex(
            digest(
                keys.get(expected),
                proof.circuit(),
                vkHash,
                proof.publicInput(),
                proof.publicOutput()));
    if (!digest.equals(proof.digest())) {
      throw refuse(
          what,
          "(circuit '"
              + expected.id()
              + "') does not verify: its digest does not match its public input and output"
              + " under the circuit's key (forged, or altered after proving)");
    }
  }

  /** Checks {@code proof} against whichever of {@code accepted} it names; returns that circuit. */
  public Circuit verifyAny(MockProof proof, String what, Circuit... accepted) {
    Circuit circuit = proof == null ? null : Circuit.of(proof.circuit());
    for (Circuit candidate : accepted) {
      if (candidate == circuit) {
        verify(proof, candidate, what);
        return candidate;
      }
    }
    throw refuse(
        what,
        proof == null
            ? "is missing"
            : "is a proof of circuit '" + proof.circuit() + "', expected one of " + ids(accepted));
  }

  static PermanentTaskFailure refuse(String what, String problem) {
    return new PermanentTaskFailure(what + " " + problem);
  }

  private byte[] key(Circuit circuit) {
    byte[] key = keys.get(circuit);
    if (key == null) {
      throw new IllegalStateException(
          "circuit '" + circuit.id() + "' was not loaded by this task type");
    }
    return key;
  }

  private static byte[] digest(
      byte[] key,
      String circuit,
      String vkHash,
      List<String> publicInput,
      List<String> publicOutput) {
    MessageDigest digest = Sha256.digest();
    digest.update(Sha256.PROOF);
    digest.update(key);
    Sha256.updateString(digest, circuit);
    Sha256.updateString(digest, vkHash);
    Sha256.updateLong(digest, publicInput.size());
    for (String value : publicInput) {
      Sha256.updateString(digest, value);
    }
    Sha256.updateLong(digest, publicOutput.size());
    for (String value : publicOutput) {
      Sha256.updateString(digest, value);
    }
    return digest.digest();
  }

  /** Real CPU work standing in for proving: {@code iterations} chained SHA-256 rounds. */
  static byte[] work(long iterations, byte[] seed) {
    byte[] state = seed;
    for (long i = 0; i < iterations; i++) {
      state = Sha256.hash(Sha256.WORK, state);
    }
    return state;
  }

  private static String ids(Circuit... circuits) {
    StringBuilder text = new StringBuilder();
    for (Circuit circuit : circuits) {
      text.append(text.length() == 0 ? "'" : ", '").append(circuit.id()).append('\'');
    }
    return text.toString();
  }
}
