package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.util.List;

/**
 * Turns one transaction's runtime proof into a transaction proof: verifies the runtime proof,
 * checks that the transitions the trace gives are the ones the runtime committed to, and advances
 * the block's two commitments. Public input: [index, transaction commitment before, transition
 * commitment before]; output: [index + 1, both commitments after].
 */
public final class BlockProvingTask extends CircuitTaskType<BlockProvingInput, MockProof> {
  public static final String NAME = "BlockProvingTask";
  public static final BlockProvingTask INSTANCE = new BlockProvingTask();

  private BlockProvingTask() {
    super(NAME, BlockProvingInput.class, MockProof.class);
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, Circuit.RUNTIME, Circuit.TRANSACTION);
  }

  @Override
  public MockProof compute(BlockProvingInput input, TaskContext context) {
    CircuitKeys keys = context.prepared(CircuitKeys.class);
    Inputs.require(input, "block proving input");
    String what = "transaction " + input.index() + " of block " + input.blockNumber();
    keys.verify(input.runtimeProof(), Circuit.RUNTIME, "runtime proof of " + what);
    try {
      List<StateTransition> transitions =
          Inputs.require(input.transitions(), what + ": transitions");
      String traced = StateTransition.commit(Sha256.ZERO_HEX, transitions);
      String proven = input.runtimeProof().out(0);
      if (!traced.equals(proven)) {
        throw new PermanentTaskFailure(
            what
                + ": the runtime proof commits to state transitions "
                + Sha256.abbreviate(proven)
                + ", the trace's "
                + transitions.size()
                + " transitions commit to "
                + Sha256.abbreviate(traced));
      }
      String transactionsBefore = input.transactionCommitmentBefore();
      String transitionsBefore = input.transitionCommitmentBefore();
      String transactionsAfter =
          Sha256.chain(Sha256.TRANSACTION_CHAIN, transactionsBefore, input.runtimeProof().in(0));
      String transitionsAfter = StateTransition.commit(transitionsBefore, transitions);
      return keys.prove(
          Circuit.TRANSACTION,
          List.of(Integer.toString(input.index()), transactionsBefore, transitionsBefore),
          List.of(Integer.toString(input.index() + 1), transactionsAfter, transitionsAfter));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw Inputs.malformed(what, e);
    }
  }
}
