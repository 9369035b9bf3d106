package dev.pekkoprover.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class IdealScheduleTest {

  @Test
  void sixtyFourLeavesOnEightSlotsTakeEighteenSteps() {
    // 8 steps of leaves, 4 + 2 + 1 steps of the 32 + 16 + 8 merges, then 4, 2 and 1 merges alone
    assertEquals(18, IdealSchedule.optimalSteps(64, 8));
    assertEquals(
        127 / 8.0,
        IdealSchedule.simpleBound(64, 8),
        1e-9,
        "the weaker bound: 127 tasks on 8 slots");
  }

  @Test
  void smallTreesAndEdgeCases() {
    assertEquals(1, IdealSchedule.optimalSteps(1, 8), "a single leaf is its own root");
    assertEquals(3, IdealSchedule.optimalSteps(2, 1), "two leaves and a merge on one slot");
    assertEquals(2, IdealSchedule.optimalSteps(2, 2), "both leaves at once, then the merge");
    assertEquals(5, IdealSchedule.optimalSteps(8, 4), "2 steps of leaves, then 4, 2 and 1 merges");
    assertEquals(127, IdealSchedule.optimalSteps(64, 1), "one slot runs every task in turn");
    assertEquals(7, IdealSchedule.optimalSteps(64, 64), "unbounded slots: the critical path");
    // an odd leaf moves up unmerged: 5 leaves, 4 merges
    assertEquals(9, IdealSchedule.tasks(5));
    assertEquals(4, IdealSchedule.optimalSteps(5, 4));
  }
}
