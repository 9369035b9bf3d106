package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The ranking of the workers serving one type: most free slots first, ties round-robin, no slot no
 * task.
 */
class WorkerLadderTest {

  /** A worker's rung, named for the assertions. */
  static final class Named extends WorkerLadder.Rung {
    final String name;

    Named(String name) {
      this.name = name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private final WorkerLadder<Named> ladder = new WorkerLadder<>();
  private final Named a = new Named("a");
  private final Named b = new Named("b");

  private String best() {
    Named best = ladder.best();
    return best == null ? null : best.name;
  }

  @Test
  void anEmptyLadderOrOneWithoutFreeSlotsHasNoBest() {
    assertFalse(ladder.hasFreeSlot());
    assertNull(ladder.best());
    ladder.add(new Named("full"), 0);
    ladder.add(
        new Named("overbooked"), -2); // holds more than its slots: on the ladder, never the best
    assertFalse(ladder.hasFreeSlot());
    assertNull(ladder.best());
  }

  @Test
  void theWorkerWithTheMostFreeSlotsIsTheBest() {
    ladder.add(a, 1);
    ladder.add(b, 3);
    assertEquals("b", best());
    ladder.move(b, 1); // b took two tasks: a has stood with 1 free slot longer
    assertEquals("a", best());
    ladder.move(a, 0);
    assertEquals("b", best());
    ladder.move(b, 0);
    assertFalse(ladder.hasFreeSlot());
    ladder.move(a, 7); // beyond the buckets it started with
    assertEquals("a", best());
  }

  @Test
  void equalWorkersTakeTurns() {
    List<Named> workers = List.of(new Named("a"), new Named("b"), new Named("c"));
    Map<Named, Integer> free = new HashMap<>();
    for (Named w : workers) {
      free.put(w, 2);
      ladder.add(w, 2);
    }
    List<String> order = new ArrayList<>();
    while (ladder.hasFreeSlot()) { // the best takes a task, and has a slot less
      Named next = ladder.best();
      order.add(next.name);
      free.merge(next, -1, Integer::sum);
      ladder.move(next, free.get(next));
    }
    assertEquals(List.of("a", "b", "c", "a", "b", "c"), order);

    // one finishes a task: it gets the next one
    ladder.move(workers.get(1), 1);
    assertEquals("b", best());
  }

  @Test
  void aMoveToTheSameCountKeepsTheWorkersPlace() {
    ladder.add(a, 2);
    ladder.add(b, 2);
    ladder.move(a, 2); // an announcement that changed nothing
    assertEquals("a", best(), "still first in its bucket");
  }

  @Test
  void aRequeueToTheSameCountGoesToTheTailAndLeavesARungOffTheLadderOff() {
    ladder.add(a, 2);
    ladder.add(b, 2);
    ladder.requeue(a, 2); // a took a task and finished it since it was last placed
    assertEquals("b", best(), "a waits its turn");
    ladder.requeue(b, 0);
    assertEquals("a", best());
    Named off = new Named("off");
    ladder.requeue(off, 5);
    assertEquals("a", best(), "a rung on no ladder stays off");
  }

  @Test
  void aRemovedWorkerIsNeverTheBestAndRemovingTwiceIsHarmless() {
    ladder.add(a, 4);
    ladder.add(b, 1);
    assertTrue(a.onLadder());
    ladder.remove(a);
    assertFalse(a.onLadder());
    assertEquals("b", best());
    ladder.remove(a);
    assertEquals("b", best());
    ladder.remove(b);
    assertFalse(ladder.hasFreeSlot());

    ladder.add(a, 1); // back, e.g. after its next announcement
    assertEquals("a", best());
  }

  @Test
  void aWorkerCanStandOnTheLaddersOfSeveralTypes() {
    WorkerLadder<Named> other = new WorkerLadder<>();
    Named onFirst = new Named("w");
    Named onOther = new Named("w");
    ladder.add(onFirst, 1);
    other.add(onOther, 1);
    ladder.move(onFirst, 0);
    assertFalse(ladder.hasFreeSlot());
    assertTrue(other.hasFreeSlot(), "each ladder is moved by its owner");
  }
}
