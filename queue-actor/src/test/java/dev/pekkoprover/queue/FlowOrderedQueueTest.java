package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The pending tasks of one type, oldest flow first, against a plain model of the same rule. */
class FlowOrderedQueueTest {

  /** A task: its flow's order and a name. Compared by identity, as the queue's records are. */
  record T(long flow, String name) {}

  private final FlowOrderedQueue<T> queue = new FlowOrderedQueue<>(T::flow, 4);

  private List<String> drain() {
    List<String> out = new ArrayList<>();
    for (T t = queue.pollFirst(); t != null; t = queue.pollFirst()) {
      out.add(t.name());
    }
    return out;
  }

  @Test
  void theOldestFlowGoesFirstAndAPutBackOnlyAheadOfItsOwnFlow() {
    queue.addLast(new T(2, "2a"));
    queue.addLast(new T(2, "2b"));
    queue.addLast(new T(1, "1a"));
    queue.addLast(new T(3, "3a"));
    queue.addLast(new T(1, "1b"));
    queue.addFirst(new T(2, "2-put-back"));
    assertEquals(6, queue.size());
    assertEquals(3, queue.orders());
    assertEquals("1a", queue.peekFirst().name());
    List<String> inOrder = new ArrayList<>();
    queue.byFlow().forEach(flow -> flow.forEach(t -> inOrder.add(t.name())));
    assertEquals(List.of("1a", "1b", "2-put-back", "2a", "2b", "3a"), inOrder);
    assertEquals(List.of("1a", "1b", "2-put-back", "2a", "2b", "3a"), drain());
    assertTrue(queue.isEmpty());
    assertNull(queue.peekFirst());
    assertEquals(0, queue.orders());
  }

  @Test
  void aTaskOfAnOlderFlowArrivingLaterGoesAheadOfWhatIsPending() {
    queue.addLast(new T(5, "5a"));
    assertEquals("5a", queue.peekFirst().name());
    queue.addLast(new T(4, "4a"));
    assertEquals("4a", queue.peekFirst().name(), "the head is the older flow's now");
    queue.addLast(new T(5, "5b"));
    assertEquals(List.of("4a", "5a", "5b"), drain());
  }

  @Test
  void removalsKeepTheOrderAndLeaveNoEmptyFlowAhead() {
    T a = new T(1, "1a");
    T b = new T(2, "2a");
    T c = new T(2, "2b");
    T d = new T(3, "3a");
    for (T t : List.of(a, b, c, d)) {
      queue.addLast(t);
    }
    assertTrue(queue.remove(a));
    assertFalse(queue.remove(a), "gone already");
    assertSame(b, queue.peekFirst(), "flow 1 is empty: flow 2 heads the queue");
    assertTrue(queue.removeIf(t -> t.flow() == 2));
    assertSame(d, queue.peekFirst());
    assertEquals(1, queue.size());
    assertFalse(queue.removeIf(t -> t.flow() == 2));
    queue.addFirst(new T(2, "2c"));
    assertEquals(List.of("2c", "3a"), drain());
  }

  @Test
  void oneFlowDrainedAndFilledAgainKeepsItsDequeAndAnotherFlowStillHeadsWhenOlder() {
    queue.addLast(new T(7, "7a"));
    assertEquals("7a", queue.pollFirst().name());
    assertEquals(0, queue.orders(), "empty, though the deque is kept");
    queue.addLast(new T(7, "7b"));
    queue.addLast(new T(6, "6a"));
    assertEquals(List.of("6a", "7b"), drain());
    queue.addLast(new T(9, "9a"));
    queue.addLast(new T(8, "8a"));
    assertEquals(2, queue.orders(), "the kept deque of flow 7 is gone once another flow came");
    assertEquals(List.of("8a", "9a"), drain());
  }

  @Test
  void randomOperationsAgreeWithAModelOfTheRule() {
    Random random = new Random(42);
    TreeMap<Long, ArrayDeque<T>> model = new TreeMap<>();
    List<T> present = new ArrayList<>();
    for (int step = 0; step < 20_000; step++) {
      int op = random.nextInt(10);
      if (op < 4) {
        T t = new T(random.nextInt(5), "t" + step);
        queue.addLast(t);
        model.computeIfAbsent(t.flow(), k -> new ArrayDeque<>()).addLast(t);
        present.add(t);
      } else if (op < 5) {
        T t = new T(random.nextInt(5), "p" + step);
        queue.addFirst(t);
        model.computeIfAbsent(t.flow(), k -> new ArrayDeque<>()).addFirst(t);
        present.add(t);
      } else if (op < 8) {
        T expected = null;
        while (!model.isEmpty() && expected == null) {
          ArrayDeque<T> first = model.firstEntry().getValue();
          expected = first.pollFirst();
          if (first.isEmpty()) {
            model.pollFirstEntry();
          }
        }
        assertSame(expected, queue.pollFirst(), "step " + step);
        present.remove(expected);
      } else if (op < 9 && !present.isEmpty()) {
        T t = present.remove(random.nextInt(present.size()));
        assertTrue(queue.remove(t), "step " + step);
        ArrayDeque<T> deque = model.get(t.flow());
        deque.remove(t);
        if (deque.isEmpty()) {
          model.remove(t.flow());
        }
      } else if (!present.isEmpty()) {
        long flow = random.nextInt(5);
        queue.removeIf(t -> t.flow() == flow && t.name().hashCode() % 3 == 0);
        ArrayDeque<T> deque = model.get(flow);
        if (deque != null) {
          deque.removeIf(t -> t.name().hashCode() % 3 == 0);
          if (deque.isEmpty()) {
            model.remove(flow);
          }
        }
        present.removeIf(t -> t.flow() == flow && t.name().hashCode() % 3 == 0);
      }
      assertEquals(present.size(), queue.size(), "step " + step);
      T head = model.isEmpty() ? null : model.firstEntry().getValue().peekFirst();
      assertSame(head, queue.peekFirst(), "step " + step);
    }
  }
}
