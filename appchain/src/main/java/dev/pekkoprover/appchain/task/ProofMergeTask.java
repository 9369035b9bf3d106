package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.TaskContext;

/**
 * A reduction of one circuit: merges the proofs of two adjacent ranges after verifying both and
 * their chaining ({@link Chaining#merge}). The transition and the transaction reductions differ
 * only in name and circuit.
 */
abstract class ProofMergeTask extends CircuitTaskType<ProofPair, MockProof> {
  private final Circuit circuit;

  ProofMergeTask(String name, Circuit circuit) {
    super(name, ProofPair.class, MockProof.class);
    this.circuit = circuit;
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, circuit);
  }

  @Override
  public MockProof compute(ProofPair pair, TaskContext context) {
    return Chaining.merge(context.prepared(CircuitKeys.class), circuit, pair);
  }
}
