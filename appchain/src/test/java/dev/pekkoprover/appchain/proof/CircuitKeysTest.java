package dev.pekkoprover.appchain.proof;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.Appchain;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Mock proofs verify only under the key of the circuit that made them, and only unaltered. */
class CircuitKeysTest {
  private static final AppchainSettings SETTINGS = new AppchainSettings(0, 8, 32, "seed-a", 1000);

  private static List<CompiledCircuit> compile(AppchainSettings settings) {
    List<CompiledCircuit> compiled = new ArrayList<>();
    for (CompileRequest request : Appchain.compileRequests(settings)) {
      compiled.add(CircuitCompilerTask.INSTANCE.compute(request, null));
    }
    return compiled;
  }

  private static final VerificationKeys KEYS = Appchain.registrationParams(compile(SETTINGS));
  private static final VerificationKeys OTHER_KEYS =
      Appchain.registrationParams(compile(SETTINGS.withCircuitSeed("seed-b")));

  private static MockProof proof(VerificationKeys keys) {
    return CircuitKeys.load(keys, Circuit.STATE_TRANSITION)
        .prove(Circuit.STATE_TRANSITION, List.of("0", "a", "b"), List.of("4", "c", "d"));
  }

  @Test
  void compilingIsDeterministicPerSeedAndCoversEveryCircuit() {
    assertEquals(KEYS, Appchain.registrationParams(compile(SETTINGS)));
    assertEquals(Circuit.values().length, KEYS.keysByCircuit().size());
    assertNotEquals(KEYS.keysByCircuit().get("block"), OTHER_KEYS.keysByCircuit().get("block"));
    assertNotEquals(KEYS.keysByCircuit().get("block"), KEYS.keysByCircuit().get("batch"));
    assertEquals(
        7, Appchain.registrationParams(compile(SETTINGS.withProvingWork(7))).provingWork());
  }

  @Test
  void aProofVerifiesUnderItsCircuitsKey() {
    MockProof proof = proof(KEYS);
    CircuitKeys.load(KEYS, Circuit.STATE_TRANSITION)
        .verify(proof, Circuit.STATE_TRANSITION, "proof");
    proof.verify(KEYS);
  }

  @Test
  void aProofMadeWithAnotherKeyIsRefusedAsWrongKey() {
    MockProof foreign = proof(OTHER_KEYS);
    PermanentTaskFailure error =
        assertThrows(PermanentTaskFailure.class, () -> foreign.verify(KEYS));
    assertTrue(error.getMessage().contains("circuit 'state-transition'"), error.getMessage());
    assertTrue(error.getMessage().contains("wrong key"), error.getMessage());
  }

  @Test
  void aForgedOrAlteredProofIsRefused() {
    MockProof proof = proof(KEYS);
    MockProof altered = proof.withPublicOutput(List.of("4", "c", "e"));
    PermanentTaskFailure error =
        assertThrows(PermanentTaskFailure.class, () -> altered.verify(KEYS));
    assertTrue(
        error.getMessage().contains("circuit 'state-transition') does not verify"),
        error.getMessage());

    MockProof forgedDigest =
        new MockProof(
            proof.circuit(),
            proof.vkHash(),
            proof.publicInput(),
            proof.publicOutput(),
            "00".repeat(32));
    assertThrows(PermanentTaskFailure.class, () -> forgedDigest.verify(KEYS));

    // relabelled as another circuit: that circuit's key hash does not match
    MockProof relabelled =
        new MockProof(
            "transaction",
            proof.vkHash(),
            proof.publicInput(),
            proof.publicOutput(),
            proof.digest());
    error = assertThrows(PermanentTaskFailure.class, () -> relabelled.verify(KEYS));
    assertTrue(error.getMessage().contains("circuit 'transaction'"), error.getMessage());
  }

  @Test
  void aConsumerRefusesAProofOfAnotherCircuit() {
    MockProof proof = proof(KEYS);
    CircuitKeys keys = CircuitKeys.load(KEYS, Circuit.TRANSACTION, Circuit.STATE_TRANSITION);
    PermanentTaskFailure error =
        assertThrows(
            PermanentTaskFailure.class,
            () -> keys.verify(proof, Circuit.TRANSACTION, "left proof"));
    assertEquals(
        "left proof is a proof of circuit 'state-transition', expected 'transaction'",
        error.getMessage());
  }

  @Test
  void registrationWithoutACircuitsKeyFailsAtLoadNamingIt() {
    Map<String, String> partial = new HashMap<>(KEYS.keysByCircuit());
    partial.remove("runtime");
    VerificationKeys incomplete = new VerificationKeys(partial, 0);
    IllegalStateException error =
        assertThrows(
            IllegalStateException.class, () -> CircuitKeys.load(incomplete, Circuit.RUNTIME));
    assertTrue(
        error.getMessage().contains("no verification key for circuit 'runtime'"),
        error.getMessage());

    List<CompiledCircuit> missing = new ArrayList<>(compile(SETTINGS));
    missing.remove(0);
    IllegalArgumentException refused =
        assertThrows(IllegalArgumentException.class, () -> Appchain.registrationParams(missing));
    assertTrue(
        refused.getMessage().contains("no compile result for circuit 'runtime'"),
        refused.getMessage());
  }

  @Test
  void provingWorkCostsHashIterationsButNotTheResult() {
    VerificationKeys heavy = new VerificationKeys(KEYS.keysByCircuit(), 2000);
    MockProof light = proof(KEYS);
    MockProof worked = proof(heavy);
    // the work is CPU time only: the proof is the same and verifies under either
    assertEquals(light, worked);
    worked.verify(KEYS);
    byte[] seed = new byte[32];
    byte[] twice = Sha256.hash(Sha256.WORK, Sha256.hash(Sha256.WORK, seed));
    assertArrayEquals(twice, CircuitKeys.work(2, seed));
    assertArrayEquals(seed, CircuitKeys.work(0, seed));
  }
}
