package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SequenceWindowTest {

  @Test
  void numbersInOrderAndFindsEachOnceInAnyOrder() {
    SequenceWindow<String> window = new SequenceWindow<>();
    assertEquals(1, window.add("a"));
    assertEquals(2, window.add("b"));
    assertEquals(3, window.add("c"));
    assertEquals("b", window.remove(2));
    assertNull(window.remove(2), "a removed value is gone");
    assertNull(window.remove(4), "never handed out");
    assertNull(window.remove(0));
    assertEquals("a", window.remove(1));
    assertEquals("c", window.remove(3));
    assertTrue(window.isEmpty());
    assertEquals(4, window.add("d"), "numbering goes on after the window emptied");
    assertNull(window.remove(3));
    assertEquals("d", window.remove(4));
  }

  @Test
  void agreesWithAMapUnderRandomTraffic() {
    Random random = new Random(7);
    SequenceWindow<Long> window = new SequenceWindow<>();
    Map<Long, Long> expected = new HashMap<>();
    long next = 1;
    for (int step = 0; step < 200_000; step++) {
      if (expected.isEmpty() || random.nextInt(100) < 52) {
        long n = window.add(next * 31);
        assertEquals(next, n);
        expected.put(n, next * 31);
        next++;
      } else {
        long n =
            1 + (long) random.nextInt((int) next); // present, removed or never: all three happen
        assertEquals(expected.remove(n), window.remove(n), "value under " + n);
      }
      assertEquals(expected.size(), window.size());
    }
    List<Long> seen = new ArrayList<>();
    window.forEach(seen::add);
    List<Long> sorted = expected.keySet().stream().sorted().map(n -> n * 31).toList();
    assertEquals(sorted, seen, "forEach visits every value present, oldest first");
  }

  @Test
  void aSteadyStreamDoesNotGrowTheArray() {
    SequenceWindow<String> window = new SequenceWindow<>();
    for (int i = 0; i < 8; i++) {
      window.add("x");
    }
    for (long oldest = 1; oldest <= 1_000_000; oldest++) { // 8 in flight, answered oldest first
      window.add("x");
      assertEquals("x", window.remove(oldest));
    }
    assertEquals(8, window.size());
    assertTrue(window.capacity() <= 32, "capacity " + window.capacity() + " for 8 pending");
  }

  @Test
  void aLongPendingTaskHoldsItsSpanOnlyUntilItIsAnswered() {
    SequenceWindow<String> window = new SequenceWindow<>();
    long old = window.add("old");
    window.add("x");
    for (int i = 0; i < 100_000; i++) { // one in flight besides the old one, answered at once
      long n = window.add("x");
      assertEquals("x", window.remove(n - 1));
    }
    assertTrue(
        window.capacity() >= 100_000,
        "the span from the old task on is kept: " + window.capacity());
    assertEquals("old", window.remove(old));
    for (int i = 0; i < 200_000; i++) {
      long n = window.add("x");
      assertEquals("x", window.remove(n - 1));
    }
    assertEquals(1, window.size());
    assertTrue(window.capacity() <= 32, "given back: capacity " + window.capacity());
  }
}
