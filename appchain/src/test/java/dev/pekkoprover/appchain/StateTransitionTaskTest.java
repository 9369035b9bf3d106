package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.MerkleWitness;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TracedTransition;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The state transition prover checks every witness against the running root and names the one that
 * fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StateTransitionTaskTest {
  private final VerificationKeys keys = TestChains.keys();
  private final TestChains.Produced produced =
      TestChains.produce(31, 40, 1, 6, TestChains.SETTINGS.withTransitionsPerTask(4));
  private final BlockTrace block = produced.blocks().get(0);

  private MockProof prove(StateTransitionBatch batch) throws Exception {
    return DirectTaskContext.create(keys).run(StateTransitionTask.INSTANCE, batch);
  }

  private static StateTransitionBatch replace(
      StateTransitionBatch batch, int position, TracedTransition traced) {
    List<TracedTransition> transitions = new ArrayList<>(batch.transitions());
    transitions.set(position, traced);
    return new StateTransitionBatch(
        batch.blockNumber(),
        batch.firstIndex(),
        batch.rootBefore(),
        batch.commitmentBefore(),
        transitions);
  }

  @Test
  void aBatchProvesTheRootAfterItsTransitions() throws Exception {
    List<StateTransitionBatch> batches = block.transitionBatches();
    assertEquals(3, batches.size());
    for (int j = 0; j < batches.size(); j++) {
      MockProof proof = prove(batches.get(j));
      proof.verify(keys);
      assertEquals(Circuit.STATE_TRANSITION.id(), proof.circuit());
      assertEquals(
          List.of(
              Integer.toString(4 * j),
              batches.get(j).rootBefore(),
              batches.get(j).commitmentBefore()),
          proof.publicInput());
      String nextRoot =
          j + 1 < batches.size() ? batches.get(j + 1).rootBefore() : block.stateRootAfter();
      assertEquals(nextRoot, proof.out(1));
    }
  }

  @Test
  void aTamperedWitnessFailsNamingTheTransition() {
    StateTransitionBatch batch = block.transitionBatches().get(1);
    TracedTransition third = batch.transitions().get(2);
    MerkleWitness witness = third.witness();
    List<String> siblings = new ArrayList<>(witness.siblings());
    String first = siblings.get(0);
    siblings.set(0, (first.charAt(0) == 'a' ? "b" : "a") + first.substring(1));
    StateTransitionBatch tampered =
        replace(
            batch,
            2,
            new TracedTransition(
                third.transition(), new MerkleWitness(witness.nonDefaultLevels(), siblings)));

    PermanentTaskFailure error = assertThrows(PermanentTaskFailure.class, () -> prove(tampered));
    String address = third.transition().address().substring(0, 8);
    assertTrue(
        error.getMessage().startsWith("state transition 6 of block 0 (account " + address),
        error.getMessage());
    assertTrue(
        error.getMessage().contains("Merkle witness and old value give state root"),
        error.getMessage());
  }

  @Test
  void aWrongOldValueFailsNamingTheTransition() {
    StateTransitionBatch batch = block.transitionBatches().get(0);
    TracedTransition second = batch.transitions().get(1);
    StateTransition honest = second.transition();
    // the prover claims the account held more than it did
    StateTransition inflated =
        new StateTransition(
            honest.address(),
            new AccountState(honest.from().balance() + 1000, honest.from().nonce()),
            honest.to());
    StateTransitionBatch tampered =
        replace(batch, 1, new TracedTransition(inflated, second.witness()));
    PermanentTaskFailure error = assertThrows(PermanentTaskFailure.class, () -> prove(tampered));
    assertTrue(error.getMessage().startsWith("state transition 1 of block 0"), error.getMessage());
  }

  @Test
  void aWitnessOfAnotherLeafDoesNotPassForThisOne() {
    StateTransitionBatch batch = block.transitionBatches().get(0);
    TracedTransition first = batch.transitions().get(0);
    TracedTransition second = batch.transitions().get(1);
    StateTransitionBatch swapped =
        replace(batch, 0, new TracedTransition(first.transition(), second.witness()));
    PermanentTaskFailure error = assertThrows(PermanentTaskFailure.class, () -> prove(swapped));
    assertTrue(error.getMessage().startsWith("state transition 0 of block 0"), error.getMessage());
  }

  @Test
  void aMalformedBatchIsAPermanentFailure() {
    StateTransitionBatch batch = block.transitionBatches().get(0);
    StateTransitionBatch badRoot =
        new StateTransitionBatch(0, 0, "not-a-root", batch.commitmentBefore(), batch.transitions());
    PermanentTaskFailure error = assertThrows(PermanentTaskFailure.class, () -> prove(badRoot));
    assertTrue(
        error.getMessage().contains("root before must be 64 hex digits"), error.getMessage());
    StateTransitionBatch empty =
        new StateTransitionBatch(0, 0, batch.rootBefore(), batch.commitmentBefore(), List.of());
    assertThrows(PermanentTaskFailure.class, () -> prove(empty));
  }
}
