package dev.pekkoprover.protocol.flow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class AdjacentRangesTest {

  @Test
  void mergesTwoSiblingsAsSoonAsBothAreThere() {
    AdjacentRanges<String> ranges =
        new AdjacentRanges<>(4); // tree: [0,2) = 0+1, [2,4) = 2+3, root = both
    assertNull(ranges.leaf(1, "b"));
    assertNull(ranges.leaf(2, "c"), "1 and 2 are adjacent but not siblings: no lopsided merge");
    assertEquals(new AdjacentRanges.Merge<>(0, 1, 2, "a", "b"), ranges.leaf(0, "a"));
    assertNull(ranges.merged(0, 2, "ab"), "[2,4) is not finished yet");
    assertEquals(new AdjacentRanges.Merge<>(2, 3, 4, "c", "d"), ranges.leaf(3, "d"));
    assertEquals(new AdjacentRanges.Merge<>(0, 2, 4, "ab", "cd"), ranges.merged(2, 4, "cd"));
    assertFalse(ranges.isComplete());
    assertNull(ranges.merged(0, 4, "abcd"));
    assertEquals("abcd", ranges.root());
  }

  @Test
  void theTreeIsBalancedAndTheSameWhateverTheOrder() {
    for (int size : new int[] {2, 3, 5, 8, 13, 64, 100}) {
      String expected = null;
      int depthBound = 32 - Integer.numberOfLeadingZeros(size - 1); // ceil(log2 size)
      for (int seed = 0; seed < 20; seed++) {
        Random random = new Random(seed);
        AdjacentRanges<String> ranges = new AdjacentRanges<>(size);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < size; i++) {
          order.add(i);
        }
        Collections.shuffle(order, random);
        Deque<AdjacentRanges.Merge<String>> inFlight = new ArrayDeque<>();
        for (int leaf : order) {
          AdjacentRanges.Merge<String> merge = ranges.leaf(leaf, "" + leaf);
          if (merge != null) {
            inFlight.add(merge);
          }
          while (!inFlight.isEmpty() && random.nextBoolean()) {
            AdjacentRanges.Merge<String> next = inFlight.poll();
            AdjacentRanges.Merge<String> followUp =
                ranges.merged(next.from(), next.to(), "(" + next.left() + " " + next.right() + ")");
            if (followUp != null) {
              inFlight.add(followUp);
            }
          }
        }
        while (!inFlight.isEmpty()) {
          AdjacentRanges.Merge<String> next = inFlight.poll();
          AdjacentRanges.Merge<String> followUp =
              ranges.merged(next.from(), next.to(), "(" + next.left() + " " + next.right() + ")");
          if (followUp != null) {
            inFlight.add(followUp);
          }
        }
        String root = ranges.root();
        if (expected == null) {
          expected = root;
        }
        assertEquals(
            expected,
            root,
            "size " + size + ", seed " + seed + ": the same tree whatever the order");
        int depth = 0;
        int max = 0;
        for (char c : root.toCharArray()) {
          depth += c == '(' ? 1 : c == ')' ? -1 : 0;
          max = Math.max(max, depth);
        }
        assertTrue(
            max <= depthBound,
            "size " + size + ": depth " + max + " > " + depthBound + " in " + root);
      }
    }
  }

  @Test
  void neverMergesAcrossAGapAndKeepsOrder() {
    for (int seed = 0; seed < 200; seed++) {
      Random random = new Random(seed);
      int size = 1 + random.nextInt(40);
      AdjacentRanges<String> ranges = new AdjacentRanges<>(size);
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        order.add(i);
      }
      Collections.shuffle(order, random);
      Deque<AdjacentRanges.Merge<String>> inFlight = new ArrayDeque<>();
      int merges = 0;
      for (int leaf : order) {
        AdjacentRanges.Merge<String> merge = ranges.leaf(leaf, "(" + leaf + ")");
        if (merge != null) {
          inFlight.add(merge);
        }
        // complete some merges in random order as we go
        while (!inFlight.isEmpty() && random.nextBoolean()) {
          merges += complete(ranges, inFlight, random);
        }
      }
      while (!inFlight.isEmpty()) {
        merges += complete(ranges, inFlight, random);
      }
      assertTrue(ranges.isComplete(), ranges.describe());
      StringBuilder expected = new StringBuilder();
      for (int i = 0; i < size; i++) {
        expected.append("(").append(i).append(")");
      }
      assertEquals(expected.toString(), ranges.root().replace("+", ""));
      assertEquals(size - 1, merges, "n leaves take exactly n-1 merges");
    }
  }

  private static int complete(
      AdjacentRanges<String> ranges, Deque<AdjacentRanges.Merge<String>> inFlight, Random random) {
    AdjacentRanges.Merge<String> merge =
        random.nextBoolean() ? inFlight.pollFirst() : inFlight.pollLast();
    assertEquals(merge.middle(), merge.middle());
    AdjacentRanges.Merge<String> next =
        ranges.merged(merge.from(), merge.to(), merge.left() + "+" + merge.right());
    if (next != null) {
      assertTrue(next.from() < next.middle() && next.middle() < next.to());
      inFlight.add(next);
    }
    return 1;
  }

  @Test
  void refusesWhatWasNotHandedOut() {
    AdjacentRanges<String> ranges = new AdjacentRanges<>(3);
    ranges.leaf(0, "a");
    assertThrows(IllegalStateException.class, () -> ranges.leaf(0, "again"));
    assertThrows(IllegalArgumentException.class, () -> ranges.leaf(3, "outside"));
    assertThrows(IllegalStateException.class, () -> ranges.merged(0, 2, "never asked"));
    assertFalse(ranges.isComplete());
    assertThrows(IllegalArgumentException.class, () -> new AdjacentRanges<String>(0));
  }

  @Test
  void aSingleLeafIsTheRoot() {
    AdjacentRanges<String> ranges = new AdjacentRanges<>(1);
    assertNull(ranges.leaf(0, "only"));
    assertEquals("only", ranges.root());
  }
}
