package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The appchain service's state: what the live service did, a replay of its events rebuilds exactly;
 * batches are sealed by count or, when asked, partially; the proven height moves only over batches
 * proven without a gap.
 */
class ChainStateTest {
  private static final AppchainSettings SETTINGS =
      AppchainSettings.fromConfig(ConfigFactory.load());
  private final Workload workload = Workload.generate(3, 10, 6, 4, 0);

  private ChainState fresh() {
    return new ChainState(workload.genesis(), SETTINGS, 1000);
  }

  /** Runs the live path over the workload: 6 blocks of 4, batches of 2; returns its events. */
  private List<ChainEvent> live(ChainState state) {
    List<ChainEvent> events = new ArrayList<>();
    List<SignedTransfer> transfers = workload.transfers();
    for (int block = 0; block < 6; block++) {
      List<SignedTransfer> accepted = transfers.subList(block * 4, block * 4 + 4);
      accepted.forEach(tx -> assertTrue(state.submit(tx).accepted()));
      events.add(new ChainEvent.TransactionsAccepted(accepted));
      events.add(state.produceBlock(4).orElseThrow());
      state
          .nextBatch(2, false)
          .ifPresent(
              batch -> {
                events.add(batch);
                state.seal(batch);
              });
    }
    return events;
  }

  private static void replay(ChainState state, List<ChainEvent> events) {
    for (ChainEvent event : events) {
      if (event instanceof ChainEvent.TransactionsAccepted accepted) {
        state.readmit(accepted.transactions());
      } else if (event instanceof ChainEvent.BlockProduced block) {
        state.replay(block);
      } else if (event instanceof ChainEvent.BatchSealed batch) {
        state.seal(batch);
      } else if (event instanceof ChainEvent.BatchProven proven) {
        state.proven(proven);
      }
    }
  }

  @Test
  void aReplayOfTheEventsRebuildsWhatTheLiveServiceHad() {
    ChainState live = fresh();
    List<ChainEvent> events = live(live);
    // one more accepted transaction, pending at the "crash"
    SignedTransfer extra =
        workload.wallets().get(0).transfer(workload.wallets().get(1).address(), 5, 1_000);
    ChainState replayed = fresh();
    replay(replayed, events);

    assertEquals(6, live.height());
    assertEquals(3, live.sealedBatches().size());
    ChainState.Batch first = live.sealedBatches().get(0);
    ChainEvent.BatchProven proof = live.expectedProof(first);
    live.proven(proof);
    replayed.proven(proof);
    for (ChainState state : List.of(live, replayed)) {
      assertEquals(6, state.height());
      assertEquals(2, state.provenHeight());
      assertEquals(2, state.sealedBatches().size());
      assertEquals(24, state.accepted());
    }
    assertEquals(live.stateRoot(), replayed.stateRoot());
    assertEquals(live.lastBlockHash(), replayed.lastBlockHash());
    assertEquals(
        live.expectedProof(live.sealedBatches().get(1)),
        replayed.expectedProof(replayed.sealedBatches().get(1)));
    for (SignedTransfer tx : workload.transfers()) {
      assertEquals(live.status(tx.hash()), replayed.status(tx.hash()));
    }
    assertEquals("proven", live.status(workload.transfers().get(0).hash()).status());
    assertEquals("in-block", live.status(workload.transfers().get(23).hash()).status());
    assertEquals("unknown", live.status(extra.hash()).status());
  }

  @Test
  void theProvenHeightMovesOnlyOverBatchesProvenWithoutAGap() {
    ChainState state = fresh();
    live(state);
    List<ChainState.Batch> batches = state.sealedBatches();
    ChainEvent.BatchProven second = state.expectedProof(batches.get(1));
    ChainEvent.BatchProven first = state.expectedProof(batches.get(0));
    state.proven(second);
    assertEquals(0, state.provenHeight());
    assertEquals(null, state.lastBatch());
    assertEquals(4, state.traces(batches.get(0)).size() + state.traces(batches.get(2)).size());
    state.proven(first);
    assertEquals(4, state.provenHeight());
    assertEquals(second, state.lastBatch());
    assertEquals(List.of(batches.get(2)), state.sealedBatches());
    assertTrue(state.traces(batches.get(0)).isEmpty(), "the traces of proven blocks are released");
    assertEquals(2, state.traces(batches.get(2)).size());
  }

  @Test
  void aPartialBatchIsSealedOnlyWhenAsked() {
    ChainState state = fresh();
    workload.transfers().subList(0, 4).forEach(state::submit);
    state.produceBlock(4).orElseThrow();
    assertTrue(state.nextBatch(2, false).isEmpty());
    ChainEvent.BatchSealed partial = state.nextBatch(2, true).orElseThrow();
    assertEquals(new ChainEvent.BatchSealed(0, 0), partial);
    state.seal(partial);
    assertEquals(0, state.unsealedBlocks());
    assertTrue(state.nextBatch(2, true).isEmpty());
    assertTrue(state.produceBlock(4).isEmpty(), "no empty blocks");
  }

  @Test
  void aJournalOfAnotherChainIsRefusedOnReplay() {
    ChainState live = fresh();
    List<ChainEvent> events = live(live);
    ChainState other = new ChainState(Workload.generate(4, 10, 0, 1, 0).genesis(), SETTINGS, 1000);
    IllegalStateException refused =
        assertThrows(IllegalStateException.class, () -> replay(other, events));
    assertTrue(refused.getMessage().contains("another chain"), refused.getMessage());
    ChainState tampered = fresh();
    List<ChainEvent> changed = new ArrayList<>(events);
    changed.set(1, new ChainEvent.BlockProduced(0, 3, live.lastBlockHash()));
    assertThrows(IllegalStateException.class, () -> replay(tampered, changed));
  }
}
