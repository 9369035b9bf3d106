package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The appchain service's state: what the live service did, a replay of its events rebuilds exactly;
 * batches are sealed by count or, when asked, partially; the proven height moves only over batches
 * proven without a gap; a snapshot, through the serializer the snapshot store uses, restores the
 * same state without the events before it.
 */
class ChainStateTest {
  private static ActorTestKit kit;
  private static Serialization serialization;

  @BeforeAll
  static void startSerialization() {
    kit = ActorTestKit.create("chain-state");
    serialization = SerializationExtension.get(kit.system());
  }

  @AfterAll
  static void stopSerialization() {
    kit.shutdownTestKit();
  }

  /** {@code value} serialised and read back as the snapshot store does. */
  private static Object roundTrip(Object value) {
    Serializer serializer = serialization.findSerializerFor(value);
    byte[] bytes = serializer.toBinary(value);
    return serialization
        .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, value))
        .get();
  }

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

  /**
   * 7 blocks of 4 of a 9-block workload (some recipients not in the genesis), batches of 2 sealed
   * (0-1, 2-3, 4-5; block 6 not), 0-1 proven, 4-5 proven ahead of 2-3, and the other 8 transfers
   * pending.
   */
  private static ChainState midway(Workload workload) {
    ChainState state = new ChainState(workload.genesis(), SETTINGS, 1000);
    List<SignedTransfer> transfers = workload.transfers();
    for (int block = 0; block < 7; block++) {
      transfers
          .subList(block * 4, block * 4 + 4)
          .forEach(tx -> assertTrue(state.submit(tx).accepted()));
      state.produceBlock(4).orElseThrow();
      state.nextBatch(2, false).ifPresent(state::seal);
    }
    List<ChainState.Batch> batches = state.sealedBatches();
    state.proven(state.expectedProof(batches.get(0)));
    state.proven(state.expectedProof(batches.get(2)));
    transfers.subList(28, 36).forEach(tx -> assertTrue(state.submit(tx).accepted()));
    return state;
  }

  @Test
  void aSnapshotRestoresWhatTheLiveServiceHadWithoutTheUnwrittenTransactions() {
    Workload workload = Workload.generate(5, 10, 9, 4, 0);
    ChainState live = midway(workload);
    assertEquals(2, live.provenHeight());
    assertEquals(List.of(new ChainState.Batch(2, 3)), live.sealedBatches());
    assertTrue(
        workload.transfers().stream()
            .anyMatch(tx -> !workload.genesis().containsKey(tx.transfer().to())),
        "some recipient is created by a transfer");

    // the newest accepted transaction not journaled yet: not in the snapshot
    ChainSnapshot snapshot = (ChainSnapshot) roundTrip(live.snapshot(1));
    assertEquals(2, snapshot.baseHeight());
    assertEquals(5, snapshot.blocks().size(), "blocks 2-6");
    assertEquals(5 * 4 + 7, snapshot.transactions().size());
    ChainState restored = ChainState.restore(snapshot, workload.genesis(), SETTINGS, 1000);
    SignedTransfer unwritten = workload.transfers().get(35);
    assertEquals("unknown", restored.status(unwritten.hash()).status());
    assertEquals(live.accepted() - 1, restored.accepted());
    assertEquals(live.pending() - 1, restored.pending());
    assertTrue(restored.submit(unwritten).accepted(), "its sender may send it again");

    assertEquals(live.view(), restored.view());
    assertEquals(live.sealedBatches(), restored.sealedBatches());
    ChainState.Batch waiting = live.sealedBatches().get(0);
    assertEquals(live.traces(waiting), restored.traces(waiting), "the same traces to prove");
    assertEquals(live.expectedProof(waiting), restored.expectedProof(waiting));
    for (SignedTransfer tx : workload.transfers()) {
      assertEquals(live.status(tx.hash()), restored.status(tx.hash()));
    }
    // and they go on alike: the gap closes over the batch proven ahead, the next blocks agree
    for (ChainState state : List.of(live, restored)) {
      state.proven(state.expectedProof(waiting));
      assertEquals(6, state.provenHeight());
      state.seal(state.nextBatch(2, true).orElseThrow());
    }
    assertEquals(live.produceBlock(4), restored.produceBlock(4));
    assertEquals(live.produceBlock(4), restored.produceBlock(4));
    assertEquals(live.view(), restored.view());
    assertEquals(
        live.account(unwritten.transfer().to()), restored.account(unwritten.transfer().to()));
  }

  @Test
  void aSnapshotWithEveryBlockProvenRestoresTheChainAlone() {
    Workload workload = Workload.generate(5, 10, 9, 4, 0);
    ChainState live = midway(workload);
    live.proven(live.expectedProof(live.sealedBatches().get(0)));
    live.seal(live.nextBatch(2, true).orElseThrow());
    live.proven(live.expectedProof(live.sealedBatches().get(0)));
    while (live.produceBlock(4).isPresent()) {
      live.seal(live.nextBatch(2, true).orElseThrow());
      live.proven(live.expectedProof(live.sealedBatches().get(0)));
    }
    assertEquals(live.height(), live.provenHeight());
    ChainSnapshot snapshot = (ChainSnapshot) roundTrip(live.snapshot(0));
    assertTrue(snapshot.blocks().isEmpty() && snapshot.transactions().isEmpty());
    ChainState restored = ChainState.restore(snapshot, workload.genesis(), SETTINGS, 1000);
    assertEquals(live.view(), restored.view());
    assertEquals(36, restored.accepted());
    assertEquals("proven", restored.status(workload.transfers().get(35).hash()).status());
  }

  @Test
  void aSnapshotOfAnotherChainOrWithChangedAccountsIsRefused() {
    Workload workload = Workload.generate(5, 10, 9, 4, 0);
    ChainSnapshot snapshot = midway(workload).snapshot(0);
    IllegalStateException other =
        assertThrows(
            IllegalStateException.class,
            () ->
                ChainState.restore(
                    snapshot, Workload.generate(6, 10, 0, 1, 0).genesis(), SETTINGS, 1000));
    assertTrue(other.getMessage().contains("another chain"), other.getMessage());
    List<ChainSnapshot.Account> accounts = new ArrayList<>(snapshot.accounts());
    ChainSnapshot.Account first = accounts.get(0);
    accounts.set(0, new ChainSnapshot.Account(first.address(), first.balance() + 1, first.nonce()));
    ChainSnapshot changed =
        new ChainSnapshot(
            snapshot.genesisStateRoot(),
            snapshot.baseHeight(),
            snapshot.baseBlockHash(),
            snapshot.baseStateRoot(),
            accounts,
            snapshot.blocks(),
            snapshot.transactions(),
            snapshot.batches(),
            snapshot.provenAhead(),
            snapshot.lastBatch(),
            snapshot.accepted(),
            snapshot.indexHashes(),
            snapshot.indexBlocks());
    IllegalStateException refused =
        assertThrows(
            IllegalStateException.class,
            () -> ChainState.restore(changed, workload.genesis(), SETTINGS, 1000));
    assertTrue(refused.getMessage().contains("state root"), refused.getMessage());
  }

  /**
   * The shipped tx-index-size (1,000,000) makes the largest part of a snapshot: 32 MB of hashes and
   * a million block numbers must pass the serializer both ways (Jackson limits the length of what
   * it reads).
   */
  @Test
  void aSnapshotWithAFullTransactionIndexPassesTheSerializer() {
    int entries = 1_000_000;
    byte[] hashes = new byte[entries * 32];
    new Random(1).nextBytes(hashes);
    long[] blocks = new long[entries];
    Arrays.setAll(blocks, i -> i / 100);
    blocks[entries - 1] = -1;
    ChainSnapshot big =
        new ChainSnapshot(
            "00".repeat(32),
            0,
            "00".repeat(32),
            "00".repeat(32),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            null,
            entries,
            hashes,
            blocks);
    ChainSnapshot copy = (ChainSnapshot) roundTrip(big);
    assertTrue(Arrays.equals(hashes, copy.indexHashes()), "the hashes");
    assertTrue(Arrays.equals(blocks, copy.indexBlocks()), "the blocks");
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
