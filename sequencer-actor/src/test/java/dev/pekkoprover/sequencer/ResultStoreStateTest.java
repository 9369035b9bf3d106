package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The store's bounded map: eviction by count and bytes, second chance for read entries,
 * confirmation, snapshots.
 */
class ResultStoreStateTest {

  private static StoredResult result(int n, int size) {
    return new StoredResult("k" + n, "t", 1, "", new byte[size]);
  }

  private static List<String> keys(ResultStoreState state) {
    return state.snapshot().stream().map(StoredResult::key).toList();
  }

  @Test
  void evictsTheOldestOverTheCountBound() {
    ResultStoreState state = new ResultStoreState(3, Long.MAX_VALUE);
    for (int i = 1; i <= 5; i++) {
      state.add(result(i, 10));
    }
    assertEquals(List.of("k3", "k4", "k5"), keys(state));
    assertEquals(2, state.evicted());
    assertEquals(3 * result(1, 10).weight(), state.bytes());
  }

  @Test
  void evictsOverTheByteBound() {
    long weight = result(1, 100).weight();
    ResultStoreState state = new ResultStoreState(1000, 3 * weight);
    for (int i = 1; i <= 4; i++) {
      state.add(result(i, 100));
    }
    assertEquals(List.of("k2", "k3", "k4"), keys(state));
    state.add(result(5, 250)); // takes the room of two
    assertEquals(List.of("k4", "k5"), keys(state));
  }

  @Test
  void aResultReadLatelyGetsASecondChance() {
    ResultStoreState state = new ResultStoreState(3, Long.MAX_VALUE);
    state.add(result(1, 1));
    state.add(result(2, 1));
    state.add(result(3, 1));
    assertNotNull(state.lookup("k1")); // read: k1 survives the next eviction, k2 goes instead
    state.add(result(4, 1));
    assertEquals(List.of("k3", "k1", "k4"), keys(state));
    state.add(result(5, 1)); // k1's chance is spent once it moved back; now k3 is oldest
    assertEquals(List.of("k1", "k4", "k5"), keys(state));
    state.add(result(6, 1)); // and then k1 goes, not having been read again
    assertEquals(List.of("k4", "k5", "k6"), keys(state));
  }

  @Test
  void whenEveryEntryWasReadTheOldestStillGoesNotTheNewOne() {
    ResultStoreState state = new ResultStoreState(3, Long.MAX_VALUE);
    for (int i = 1; i <= 3; i++) {
      state.add(result(i, 1));
      state.lookup("k" + i);
    }
    state.add(result(4, 1));
    assertEquals(List.of("k2", "k3", "k4"), keys(state));
    assertNotNull(state.lookup("k4"), "the new entry is held");
    assertNull(state.lookup("k1"), "all were read: the hand came round and took the oldest");
    assertEquals(List.of("k2", "k3", "k4"), keys(state));
  }

  @Test
  void aResultHeavierThanTheByteBoundIsNotHeld() {
    ResultStoreState state = new ResultStoreState(10, 100);
    state.add(result(1, 10));
    state.add(result(2, 500));
    assertEquals(List.of("k1"), keys(state));
  }

  @Test
  void whileLiveAnEntryIsServedOnlyOnceItsWriteIsConfirmed() {
    ResultStoreState state = new ResultStoreState(10, Long.MAX_VALUE);
    state.add(result(1, 1)); // recovering: replayed from the journal, so confirmed
    state.goLive();
    StoredResult written = result(2, 1);
    state.add(written);
    assertNotNull(state.lookup("k1"));
    assertNull(state.lookup("k2"), "not served before the journal confirmed it");
    state.confirm(List.of(written));
    assertNotNull(state.lookup("k2"));
  }

  @Test
  void aSnapshotKeepsTheOrderAndAppliesTheBoundsItIsLoadedWith() {
    ResultStoreState state = new ResultStoreState(10, Long.MAX_VALUE);
    for (int i = 1; i <= 6; i++) {
      state.add(result(i, 1));
    }
    ResultStoreState loaded = ResultStoreState.fromSnapshot(state.snapshot(), 4, Long.MAX_VALUE);
    assertEquals(
        List.of("k3", "k4", "k5", "k6"),
        keys(loaded),
        "a smaller bound since evicts the oldest at load");
    assertNotNull(loaded.lookup("k6"), "entries from a snapshot are confirmed");
  }

  @Test
  void aReplacedKeyCountsOnce() {
    ResultStoreState state = new ResultStoreState(2, Long.MAX_VALUE);
    state.add(result(1, 1));
    state.add(result(1, 1));
    state.add(result(2, 1));
    assertEquals(List.of("k1", "k2"), keys(state));
    assertEquals(2, state.size());
  }

  @Test
  void refusesBoundsBelowOne() {
    assertThrows(IllegalArgumentException.class, () -> new ResultStoreState(0, 10));
  }
}
