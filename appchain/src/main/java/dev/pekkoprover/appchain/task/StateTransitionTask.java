package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.MerkleWitness;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.SparseMerkleTree;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TracedTransition;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.util.Arrays;
import java.util.List;

/**
 * Proves a batch of state transitions against the Merkle root: for each one, in order, its witness
 * and old value must give the running root; its new value then gives the next root. Public input:
 * [first index, root before, commitment before]; output: [end index, root after, commitment after].
 * A witness that does not match fails the task permanently, naming the transition.
 */
public final class StateTransitionTask extends CircuitTaskType<StateTransitionBatch, MockProof> {
  public static final String NAME = "StateTransitionTask";
  public static final StateTransitionTask INSTANCE = new StateTransitionTask();

  private StateTransitionTask() {
    super(NAME, StateTransitionBatch.class, MockProof.class);
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, Circuit.STATE_TRANSITION);
  }

  @Override
  public MockProof compute(StateTransitionBatch batch, TaskContext context) {
    CircuitKeys keys = context.prepared(CircuitKeys.class);
    Inputs.require(batch, "state transition batch");
    String what =
        "state transitions of block " + batch.blockNumber() + " from " + batch.firstIndex();
    List<TracedTransition> transitions = Inputs.require(batch.transitions(), what);
    if (transitions.isEmpty()) {
      throw new PermanentTaskFailure(what + ": the batch is empty");
    }
    byte[] root;
    byte[] commitment;
    try {
      root = Sha256.unhex(batch.rootBefore(), "root before");
      commitment = Sha256.unhex(batch.commitmentBefore(), "commitment before");
    } catch (IllegalArgumentException e) {
      throw Inputs.malformed(what, e);
    }
    for (int i = 0; i < transitions.size(); i++) {
      int number = batch.firstIndex() + i;
      TracedTransition traced = transitions.get(i);
      String name = "state transition " + number + " of block " + batch.blockNumber();
      try {
        StateTransition transition = Inputs.require(traced.transition(), name);
        MerkleWitness witness = Inputs.require(traced.witness(), name + ": witness");
        name += " (" + transition.describe() + ")";
        long index = Accounts.index(transition.address());
        byte[] claimed =
            SparseMerkleTree.computeRoot(
                index, transition.from().leafHash(transition.address()), witness);
        if (!Arrays.equals(claimed, root)) {
          throw new PermanentTaskFailure(
              name
                  + ": its Merkle witness and old value give state root "
                  + Sha256.abbreviate(Sha256.hex(claimed))
                  + ", but the running state root is "
                  + Sha256.abbreviate(Sha256.hex(root))
                  + " (tampered witness or wrong old value)");
        }
        root =
            SparseMerkleTree.computeRoot(
                index, transition.to().leafHash(transition.address()), witness);
        commitment = StateTransition.commit(commitment, transition);
      } catch (IllegalArgumentException | NullPointerException e) {
        throw Inputs.malformed(name, e);
      }
    }
    return keys.prove(
        Circuit.STATE_TRANSITION,
        List.of(Integer.toString(batch.firstIndex()), batch.rootBefore(), batch.commitmentBefore()),
        List.of(
            Integer.toString(batch.firstIndex() + transitions.size()),
            Sha256.hex(root),
            Sha256.hex(commitment)));
  }
}
