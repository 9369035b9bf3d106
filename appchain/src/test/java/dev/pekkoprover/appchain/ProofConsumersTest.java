package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.flow.BlockProof;
import dev.pekkoprover.appchain.flow.BlockProvingFlow;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.task.BlockBuildingInput;
import dev.pekkoprover.appchain.task.BlockBuildingTask;
import dev.pekkoprover.appchain.task.BlockProvingInput;
import dev.pekkoprover.appchain.task.BlockProvingTask;
import dev.pekkoprover.appchain.task.BlockReductionTask;
import dev.pekkoprover.appchain.task.NewBlockInput;
import dev.pekkoprover.appchain.task.NewBlockTask;
import dev.pekkoprover.appchain.task.ProofPair;
import dev.pekkoprover.appchain.task.RuntimeProvingTask;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.RuntimeInput;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskType;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;

/**
 * Every task that consumes proofs verifies them and their chaining, and refuses (permanently) with
 * a reason that names what did not match: forged or wrong-key proofs, non-adjacent merges,
 * mismatched commitments.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProofConsumersTest {
  private final VerificationKeys keys = TestChains.keys();
  private final VerificationKeys otherKeys = TestChains.keys("another-compile");
  private final TestChains.Produced produced =
      TestChains.produce(41, 25, 3, 4, TestChains.SETTINGS.withTransitionsPerTask(2));
  private final BlockTrace block0 = produced.blocks().get(0);
  private final BlockTrace block1 = produced.blocks().get(1);

  private <I> MockProof run(TaskType<I, MockProof> type, I input) throws Exception {
    return DirectTaskContext.create(keys).run(type, input);
  }

  private <I> MockProof runWith(VerificationKeys with, TaskType<I, MockProof> type, I input)
      throws Exception {
    return DirectTaskContext.create(with).run(type, input);
  }

  private static String refusal(Executable task) {
    return assertThrows(PermanentTaskFailure.class, task).getMessage();
  }

  private static void assertContains(String text, String part) {
    assertTrue(text.contains(part), "expected '" + part + "' in: " + text);
  }

  private MockProof transitionProof(BlockTrace block, int batch) throws Exception {
    return run(StateTransitionTask.INSTANCE, block.transitionBatches().get(batch));
  }

  private MockProof runtimeProof(BlockTrace block, int tx) throws Exception {
    return run(RuntimeProvingTask.INSTANCE, block.transactions().get(tx).runtime());
  }

  private BlockProvingInput blockProvingInput(BlockTrace block, int tx, MockProof runtimeProof) {
    TransactionTrace trace = block.transactions().get(tx);
    return new BlockProvingInput(
        block.number(),
        tx,
        runtimeProof,
        trace.transitions(),
        trace.transactionCommitmentBefore(),
        trace.transitionCommitmentBefore());
  }

  private MockProof transactionProof(BlockTrace block, int tx) throws Exception {
    return run(BlockProvingTask.INSTANCE, blockProvingInput(block, tx, runtimeProof(block, tx)));
  }

  private MockProof blockProof(BlockTrace block) {
    BlockProof proof =
        DirectFlowRunner.<BlockProof>fifo(keys).run(BlockProvingFlow.create(block)).result();
    return proof.proof();
  }

  // ---- state transition reduction ----

  @Test
  void adjacentTransitionProofsMerge() throws Exception {
    MockProof left = transitionProof(block0, 0);
    MockProof right = transitionProof(block0, 1);
    MockProof merged = run(StateTransitionReductionTask.INSTANCE, new ProofPair(left, right));
    merged.verify(keys);
    assertEquals(left.publicInput(), merged.publicInput());
    assertEquals(right.publicOutput(), merged.publicOutput());
  }

  @Test
  void aMergeOfNonAdjacentTransitionProofsIsRefused() throws Exception {
    MockProof first = transitionProof(block0, 0);
    MockProof second = transitionProof(block0, 1);
    MockProof third = transitionProof(block0, 2);
    String gap =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(first, third)));
    assertContains(
        gap, "cannot merge state-transition proof [0,2) and state-transition proof [4,6)");
    assertContains(
        gap, "not adjacent: left proof ends before transition index 2, right proof starts at 4");
    String reversed =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(second, first)));
    assertContains(reversed, "not adjacent");
  }

  @Test
  void transitionProofsWhoseRootOrCommitmentDoNotChainAreRefused() throws Exception {
    MockProof left = transitionProof(block0, 0);
    // same positions, but the next block's state
    MockProof otherBlock = transitionProof(block1, 1);
    String root =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(left, otherBlock)));
    assertContains(root, "the state root does not chain");

    StateTransitionBatch honest = block0.transitionBatches().get(1);
    StateTransitionBatch otherCommitment =
        new StateTransitionBatch(
            0, honest.firstIndex(), honest.rootBefore(), "11".repeat(32), honest.transitions());
    MockProof right = run(StateTransitionTask.INSTANCE, otherCommitment);
    String commitment =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(left, right)));
    assertContains(commitment, "the transition commitment does not chain");
  }

  @Test
  void aForgedTransitionProofIsRefusedByItsConsumer() throws Exception {
    MockProof left = transitionProof(block0, 0);
    MockProof right = transitionProof(block0, 1);
    MockProof forged = right.withPublicOutput(List.of(right.out(0), "22".repeat(32), right.out(2)));
    String error =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(left, forged)));
    assertContains(error, "right proof (circuit 'state-transition') does not verify");
  }

  @Test
  void aWrongKeyTransitionProofIsRefusedByItsConsumer() throws Exception {
    MockProof foreign =
        runWith(otherKeys, StateTransitionTask.INSTANCE, block0.transitionBatches().get(0));
    MockProof right = transitionProof(block0, 1);
    String error =
        refusal(() -> run(StateTransitionReductionTask.INSTANCE, new ProofPair(foreign, right)));
    assertContains(error, "left proof (circuit 'state-transition') was made with verification key");
    assertContains(error, "wrong key");
  }

  // ---- runtime and transaction proofs ----

  @Test
  void theRuntimeProverRefusesABadSignatureOrAStalePreState() {
    RuntimeInput honest = block0.transactions().get(1).runtime();
    SignedTransfer tx = honest.transaction();
    SignedTransfer unsigned = new SignedTransfer(tx.transfer(), "00".repeat(64));
    String signature =
        refusal(
            () ->
                run(
                    RuntimeProvingTask.INSTANCE,
                    new RuntimeInput(
                        0, 1, unsigned, honest.senderBefore(), honest.recipientBefore())));
    assertContains(signature, "transaction 1 of block 0 (");
    assertContains(signature, "signature does not verify");

    AccountState stale =
        new AccountState(honest.senderBefore().balance(), honest.senderBefore().nonce() + 1);
    String nonce =
        refusal(
            () ->
                run(
                    RuntimeProvingTask.INSTANCE,
                    new RuntimeInput(0, 1, tx, stale, honest.recipientBefore())));
    assertContains(nonce, "transaction 1 of block 0");
    assertContains(nonce, "BAD_NONCE");
  }

  @Test
  void aRuntimeProofOfAnotherTransactionOrKeyIsRefused() throws Exception {
    MockProof ofTx1 = runtimeProof(block0, 1);
    String mismatch =
        refusal(() -> run(BlockProvingTask.INSTANCE, blockProvingInput(block0, 0, ofTx1)));
    assertContains(
        mismatch, "transaction 0 of block 0: the runtime proof commits to state transitions");

    MockProof foreign =
        runWith(otherKeys, RuntimeProvingTask.INSTANCE, block0.transactions().get(0).runtime());
    String wrongKey =
        refusal(() -> run(BlockProvingTask.INSTANCE, blockProvingInput(block0, 0, foreign)));
    assertContains(wrongKey, "runtime proof of transaction 0 of block 0 (circuit 'runtime')");
    assertContains(wrongKey, "wrong key");
  }

  @Test
  void aMergeOfNonAdjacentTransactionProofsIsRefused() throws Exception {
    MockProof first = transactionProof(block0, 0);
    MockProof second = transactionProof(block0, 1);
    MockProof third = transactionProof(block0, 2);
    MockProof merged = run(BlockReductionTask.INSTANCE, new ProofPair(first, second));
    assertEquals(List.of("2"), merged.publicOutput().subList(0, 1));
    String gap = refusal(() -> run(BlockReductionTask.INSTANCE, new ProofPair(first, third)));
    assertContains(
        gap, "not adjacent: left proof ends before transaction index 1, right proof starts at 2");
  }

  // ---- new block and block building ----

  private MockProof reduceAll(TaskType<ProofPair, MockProof> type, List<MockProof> proofs)
      throws Exception {
    MockProof root = proofs.get(0);
    for (int i = 1; i < proofs.size(); i++) {
      root = run(type, new ProofPair(root, proofs.get(i)));
    }
    return root;
  }

  @Test
  void aNewBlockWhoseTransitionCommitmentsDoNotMatchIsRefused() throws Exception {
    MockProof transactions =
        reduceAll(
            BlockReductionTask.INSTANCE,
            List.of(
                transactionProof(block0, 0),
                transactionProof(block0, 1),
                transactionProof(block0, 2),
                transactionProof(block0, 3)));
    List<MockProof> batches =
        List.of(
            transitionProof(block0, 0),
            transitionProof(block0, 1),
            transitionProof(block0, 2),
            transitionProof(block0, 3));
    MockProof allTransitions = reduceAll(StateTransitionReductionTask.INSTANCE, batches);
    MockProof block =
        run(
            NewBlockTask.INSTANCE,
            new NewBlockInput(block0.header(), transactions, allTransitions));
    assertEquals(block0.blockHash(), block.out(1));
    assertEquals(block0.stateRootAfter(), block.out(2));

    // the state transition proof stops one batch short
    MockProof someTransitions =
        reduceAll(StateTransitionReductionTask.INSTANCE, batches.subList(0, 3));
    String error =
        refusal(
            () ->
                run(
                    NewBlockTask.INSTANCE,
                    new NewBlockInput(block0.header(), transactions, someTransitions)));
    assertContains(error, "block 0: transition commitments do not match");

    // the proofs agree, but not with the header
    var header = block0.header();
    var otherRoot =
        new dev.pekkoprover.appchain.trace.BlockHeader(
            header.number(),
            header.prevBlockHash(),
            header.stateRootBefore(),
            "33".repeat(32),
            header.transactionCount(),
            header.transactionCommitment(),
            header.transitionCommitment());
    error =
        refusal(
            () ->
                run(
                    NewBlockTask.INSTANCE,
                    new NewBlockInput(otherRoot, transactions, allTransitions)));
    assertContains(error, "block 0: the state transition proof ends at state root");
  }

  @Test
  void blockBuildingChainsOnlyConsecutiveVerifiedBlocks() throws Exception {
    MockProof first = blockProof(block0);
    MockProof second = blockProof(block1);
    MockProof third = blockProof(produced.blocks().get(2));
    MockProof batch =
        run(BlockBuildingTask.INSTANCE, new BlockBuildingInput(List.of(first, second, third)));
    assertEquals(produced.chain().lastBlockHash(), batch.out(1));
    assertEquals(produced.chain().stateRoot(), batch.out(2));

    String gap =
        refusal(
            () -> run(BlockBuildingTask.INSTANCE, new BlockBuildingInput(List.of(first, third))));
    assertContains(gap, "not adjacent: proof 0 ends before block number 1, proof 1 starts at 2");

    MockProof forged = second.withPublicOutput(List.of("2", second.out(1), "44".repeat(32)));
    String forgery =
        refusal(
            () -> run(BlockBuildingTask.INSTANCE, new BlockBuildingInput(List.of(first, forged))));
    assertContains(forgery, "proof 1 of 2 (circuit 'block') does not verify");

    MockProof transactionProof = transactionProof(block0, 0);
    String circuit =
        refusal(
            () ->
                run(BlockBuildingTask.INSTANCE, new BlockBuildingInput(List.of(transactionProof))));
    assertContains(
        circuit,
        "proof 0 of 1 is a proof of circuit 'transaction', expected one of 'block', 'batch'");
  }
}
