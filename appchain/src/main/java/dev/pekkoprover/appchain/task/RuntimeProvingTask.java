package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.trace.RuntimeInput;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.TransferRules;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.util.List;

/**
 * Proves one transaction's execution: checks its signature and its nonce and balance against the
 * pre-states it reads, runs the transfer and commits to the state transitions it emits. Public
 * input: the transaction hash; output: the commitment of its transitions.
 */
public final class RuntimeProvingTask extends CircuitTaskType<RuntimeInput, MockProof> {
  public static final String NAME = "RuntimeProvingTask";
  public static final RuntimeProvingTask INSTANCE = new RuntimeProvingTask();

  private RuntimeProvingTask() {
    super(NAME, RuntimeInput.class, MockProof.class);
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(context, Circuit.RUNTIME);
  }

  @Override
  public MockProof compute(RuntimeInput input, TaskContext context) {
    CircuitKeys keys = context.prepared(CircuitKeys.class);
    Inputs.require(input, "runtime input");
    String what = input.describe();
    SignedTransfer tx = Inputs.require(input.transaction(), what);
    try {
      if (!tx.signatureValid()) {
        throw new PermanentTaskFailure(
            what + ": signature does not verify against sender " + tx.transfer().from());
      }
      AccountState sender = Inputs.require(input.senderBefore(), what + ": sender pre-state");
      AccountState recipient =
          Inputs.require(input.recipientBefore(), what + ": recipient pre-state");
      List<StateTransition> transitions;
      try {
        transitions = TransferRules.apply(tx.transfer(), sender, recipient);
      } catch (TransferRules.Rejected e) {
        throw new PermanentTaskFailure(what + ": " + e.reason() + ": " + e.getMessage());
      }
      return keys.prove(
          Circuit.RUNTIME,
          List.of(tx.hash()),
          List.of(StateTransition.commit(Sha256.ZERO_HEX, transitions)));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw Inputs.malformed(what, e);
    }
  }
}
