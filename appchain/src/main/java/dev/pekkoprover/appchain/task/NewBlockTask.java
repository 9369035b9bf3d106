package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.trace.BlockHeader;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.util.List;

/**
 * Proves a block: joins its transaction proof (all its transactions) and its state transition proof
 * (all its transitions) under its header. The two must agree on the transition commitment, both
 * must cover the whole block from the start, and they must give the header's commitments and state
 * roots. Public input: [number, parent hash, state root before]; output: [number + 1, block hash,
 * state root after].
 */
public final class NewBlockTask extends CircuitTaskType<NewBlockInput, MockProof> {
  public static final String NAME = "NewBlockTask";
  public static final NewBlockTask INSTANCE = new NewBlockTask();

  private NewBlockTask() {
    super(NAME, NewBlockInput.class, MockProof.class);
  }

  @Override
  public Object prepare(TaskContext context) {
    return CircuitKeys.prepare(
        context, Circuit.TRANSACTION, Circuit.STATE_TRANSITION, Circuit.BLOCK);
  }

  @Override
  public MockProof compute(NewBlockInput input, TaskContext context) {
    CircuitKeys keys = context.prepared(CircuitKeys.class);
    Inputs.require(input, "new block input");
    BlockHeader header = Inputs.require(input.header(), "block header");
    String what = "block " + header.number();
    MockProof transactions = input.transactionProof();
    MockProof transitions = input.transitionProof();
    keys.verify(transactions, Circuit.TRANSACTION, "transaction proof of " + what);
    keys.verify(transitions, Circuit.STATE_TRANSITION, "state transition proof of " + what);

    require(
        transactions.out(2).equals(transitions.out(2)),
        what
            + ": transition commitments do not match: the transactions commit to "
            + Sha256.abbreviate(transactions.out(2))
            + ", the state transition proof proves "
            + Sha256.abbreviate(transitions.out(2)));
    require(
        transactions.publicInput().equals(List.of("0", Sha256.ZERO_HEX, Sha256.ZERO_HEX)),
        what
            + ": the transaction proof does not start at the block's first transaction with empty commitments: "
            + transactions.publicInput());
    require(
        transitions.in(0).equals("0") && transitions.in(2).equals(Sha256.ZERO_HEX),
        what
            + ": the state transition proof does not start at the block's first transition with an empty"
            + " commitment: "
            + transitions.publicInput());
    require(
        transactions.out(0).equals(Integer.toString(header.transactionCount())),
        what
            + ": the transaction proof covers "
            + transactions.out(0)
            + " transactions, the header says "
            + header.transactionCount());
    require(
        transactions.out(1).equals(header.transactionCommitment()),
        what
            + ": transaction commitment "
            + Sha256.abbreviate(transactions.out(1))
            + " is not the header's "
            + Sha256.abbreviate(header.transactionCommitment()));
    require(
        transitions.out(2).equals(header.transitionCommitment()),
        what
            + ": transition commitment "
            + Sha256.abbreviate(transitions.out(2))
            + " is not the header's "
            + Sha256.abbreviate(header.transitionCommitment()));
    require(
        transitions.in(1).equals(header.stateRootBefore()),
        what
            + ": the state transition proof starts from state root "
            + Sha256.abbreviate(transitions.in(1))
            + ", the header's root before is "
            + Sha256.abbreviate(header.stateRootBefore()));
    require(
        transitions.out(1).equals(header.stateRootAfter()),
        what
            + ": the state transition proof ends at state root "
            + Sha256.abbreviate(transitions.out(1))
            + ", the header's root after is "
            + Sha256.abbreviate(header.stateRootAfter()));
    String blockHash;
    try {
      blockHash = header.blockHash();
    } catch (IllegalArgumentException e) {
      throw Inputs.malformed(what, e);
    }
    return keys.prove(
        Circuit.BLOCK,
        List.of(Long.toString(header.number()), header.prevBlockHash(), header.stateRootBefore()),
        List.of(Long.toString(header.number() + 1), blockHash, header.stateRootAfter()));
  }

  private static void require(boolean condition, String failure) {
    if (!condition) {
      throw new PermanentTaskFailure(failure);
    }
  }
}
