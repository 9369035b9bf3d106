package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.SparseMerkleTree;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TracedTransition;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sequencer's direct computation and its traces. */
class ChainTest {

  @Test
  void theIncrementalRootEqualsATreeBuiltFromTheFinalAccounts() {
    TestChains.Produced produced = TestChains.produce(21, 30, 5, 12);
    Chain chain = produced.chain();
    SparseMerkleTree fresh = SparseMerkleTree.create();
    for (Map.Entry<String, AccountState> account : chain.accounts().entrySet()) {
      fresh.set(Accounts.index(account.getKey()), account.getValue().leafHash(account.getKey()));
    }
    assertEquals(fresh.root(), chain.stateRoot());
    assertNotEquals(chain.genesisStateRoot(), chain.stateRoot());
    long total = chain.accounts().values().stream().mapToLong(AccountState::balance).sum();
    assertEquals(
        produced.workload().genesis().values().stream().mapToLong(Long::longValue).sum(), total);
  }

  @Test
  void blocksChainByParentHashAndStateRoot() {
    TestChains.Produced produced = TestChains.produce(22, 12, 4, 6);
    List<BlockTrace> blocks = produced.blocks();
    assertEquals(4, blocks.size());
    assertEquals(Sha256.ZERO_HEX, blocks.get(0).header().prevBlockHash());
    assertEquals(produced.chain().genesisStateRoot(), blocks.get(0).header().stateRootBefore());
    for (int k = 1; k < blocks.size(); k++) {
      assertEquals(k, blocks.get(k).number());
      assertEquals(blocks.get(k - 1).blockHash(), blocks.get(k).header().prevBlockHash());
      assertEquals(blocks.get(k - 1).stateRootAfter(), blocks.get(k).header().stateRootBefore());
    }
    assertEquals(produced.chain().lastBlockHash(), blocks.get(3).blockHash());
    assertEquals(produced.chain().stateRoot(), blocks.get(3).stateRootAfter());
    assertEquals(4, produced.chain().height());
  }

  @Test
  void aTraceCutsTransitionsIntoBatchesWhoseWitnessesReplayToTheHeaderRoot() {
    AppchainSettings settings = TestChains.SETTINGS.withTransitionsPerTask(3);
    TestChains.Produced produced = TestChains.produce(23, 10, 2, 7, settings);
    for (BlockTrace block : produced.blocks()) {
      List<StateTransition> fromTransactions = new ArrayList<>();
      for (TransactionTrace tx : block.transactions()) {
        assertEquals(
            StateTransition.commit(Sha256.ZERO_HEX, fromTransactions),
            tx.transitionCommitmentBefore());
        fromTransactions.addAll(tx.transitions());
      }
      assertEquals(14, fromTransactions.size());
      String root = block.header().stateRootBefore();
      String commitment = Sha256.ZERO_HEX;
      int next = 0;
      for (StateTransitionBatch batch : block.transitionBatches()) {
        assertTrue(batch.transitions().size() <= 3);
        assertEquals(next, batch.firstIndex());
        assertEquals(root, batch.rootBefore());
        assertEquals(commitment, batch.commitmentBefore());
        for (TracedTransition traced : batch.transitions()) {
          StateTransition transition = traced.transition();
          assertEquals(fromTransactions.get(next++), transition);
          long index = Accounts.index(transition.address());
          assertTrue(
              SparseMerkleTree.verify(
                  root, index, transition.from().leafHash(transition.address()), traced.witness()));
          root =
              Sha256.hex(
                  SparseMerkleTree.computeRoot(
                      index, transition.to().leafHash(transition.address()), traced.witness()));
          commitment = StateTransition.commit(commitment, List.of(transition));
        }
      }
      assertEquals(block.header().stateRootAfter(), root);
      assertEquals(block.header().transitionCommitment(), commitment);
    }
  }

  @Test
  void oneSeedGivesTheSameWorkload() {
    Workload first = Workload.generate(99, 6, 2, 4);
    Workload second = Workload.generate(99, 6, 2, 4);
    assertEquals(first.genesis(), second.genesis());
    assertEquals(first.transfers(), second.transfers());
    Workload other = Workload.generate(100, 6, 2, 4);
    assertNotEquals(first.genesis().keySet(), other.genesis().keySet());
    for (SignedTransfer transfer : first.transfers()) {
      assertTrue(Accounts.isAddress(transfer.transfer().from()));
    }
  }
}
