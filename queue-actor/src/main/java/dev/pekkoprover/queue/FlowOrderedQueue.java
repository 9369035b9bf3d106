package dev.pekkoprover.queue;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;

/**
 * One task type's pending tasks, oldest flow first: a FIFO deque per flow order ({@code
 * TaskEnvelope#flowSeq}), the deques by order. {@link #pollFirst} takes the head of the lowest
 * order's deque; {@link #addFirst} (a task put back) goes to the head of its own flow's deque, not
 * ahead of older flows. Tasks of one order (a single flow, or tasks of no flow) behave as one
 * {@link ArrayDeque}.
 *
 * <p>Costs: with one order, each operation is the deque's, plus a compare; a new order costs a tree
 * insert (O(log f) for f orders with pending tasks, and a boxed key above 127), and its removal
 * when it empties. The deque of the only order left is kept when it empties, and the last one
 * dropped is kept as a spare; either serves the next new order, so that a queue whose flows come
 * and go allocates a tree entry per new order, not a deque.
 *
 * <p>Not thread-safe: the queue's actor owns it.
 *
 * @param <T> the task record
 */
final class FlowOrderedQueue<T> {
  private final ToLongFunction<T> orderOf;
  private final int initialCapacity;

  /** Every order with pending tasks, each with its deque; an empty deque only as the sole entry. */
  private final TreeMap<Long, ArrayDeque<T>> byOrder = new TreeMap<>();

  /** The lowest order's deque and its order; null when {@link #byOrder} is empty. */
  private ArrayDeque<T> first;

  private long firstOrder;

  /**
   * The deque of the last add and its order, so that a flow's fan-out finds it without the tree.
   */
  private ArrayDeque<T> last;

  private long lastOrder;
  private int size;

  /**
   * The last deque dropped when it emptied, for the next new order: flows whose few tasks come and
   * go while others wait allocate no deque each time.
   */
  private ArrayDeque<T> spare;

  /**
   * @param orderOf a task's flow order; must not change while the task is here
   * @param initialCapacity of each order's deque
   */
  FlowOrderedQueue(ToLongFunction<T> orderOf, int initialCapacity) {
    this.orderOf = orderOf;
    this.initialCapacity = initialCapacity;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Behind the pending tasks of its flow order: a new task. */
  void addLast(T task) {
    dequeOf(orderOf.applyAsLong(task)).addLast(task);
    size++;
  }

  /** Ahead of the pending tasks of its flow order, behind those of older flows: a task put back. */
  void addFirst(T task) {
    dequeOf(orderOf.applyAsLong(task)).addFirst(task);
    size++;
  }

  /** The next task to hand out (the oldest flow's head), or null when none is pending. */
  T peekFirst() {
    return first == null ? null : first.peekFirst();
  }

  /** Takes {@link #peekFirst}; null when none is pending. */
  T pollFirst() {
    if (size == 0) {
      return null;
    }
    T task = first.pollFirst();
    size--;
    if (first.isEmpty() && byOrder.size() > 1) {
      dropEmpty(firstOrder, first);
    }
    return task;
  }

  /** Removes this task (compared by identity as {@link ArrayDeque#remove} does by equals). */
  boolean remove(T task) {
    long order = orderOf.applyAsLong(task);
    ArrayDeque<T> deque = order == lastOrder && last != null ? last : byOrder.get(order);
    if (deque == null || !deque.remove(task)) {
      return false;
    }
    size--;
    if (deque.isEmpty() && byOrder.size() > 1) {
      dropEmpty(order, deque);
    }
    return true;
  }

  /** Removes every task {@code filter} accepts; true if any was. A scan of all pending tasks. */
  boolean removeIf(Predicate<? super T> filter) {
    boolean any = false;
    Iterator<Map.Entry<Long, ArrayDeque<T>>> entries = byOrder.entrySet().iterator();
    while (entries.hasNext()) {
      ArrayDeque<T> deque = entries.next().getValue();
      int before = deque.size();
      if (deque.removeIf(filter)) {
        any = true;
        size -= before - deque.size();
        if (deque.isEmpty() && byOrder.size() > 1) {
          entries.remove();
          spare = deque;
        }
      }
    }
    if (any) {
      last = null;
      resetFirst();
    }
    return any;
  }

  /** Flow orders with pending tasks (0 or 1 when all share one). */
  int orders() {
    return size == 0 ? 0 : byOrder.size();
  }

  /** The deques, oldest flow first: each is that flow's pending tasks in hand-out order. */
  Iterable<ArrayDeque<T>> byFlow() {
    return size == 0 ? Collections.emptyList() : byOrder.values();
  }

  private ArrayDeque<T> dequeOf(long order) {
    if (last != null && order == lastOrder) {
      return last;
    }
    ArrayDeque<T> deque = byOrder.get(order);
    if (deque == null) {
      if (first != null && first.isEmpty()) {
        // the kept deque of the only order left: it serves the new order (single-task flows
        // one after another allocate no deque)
        deque = first;
        byOrder.clear();
        first = null;
      } else if (spare != null) {
        deque = spare;
        spare = null;
      } else {
        deque = new ArrayDeque<>(initialCapacity);
      }
      byOrder.put(order, deque);
      if (first == null || order < firstOrder) {
        first = deque;
        firstOrder = order;
      }
    }
    last = deque;
    lastOrder = order;
    return deque;
  }

  /** Drops an empty deque from {@link #byOrder}, and from the caches that point at it. */
  private void dropEmpty(long order, ArrayDeque<T> deque) {
    byOrder.remove(order);
    spare = deque;
    if (last == deque) {
      last = null;
    }
    if (first == deque) {
      resetFirst();
    }
  }

  private void resetFirst() {
    Map.Entry<Long, ArrayDeque<T>> lowest = byOrder.firstEntry();
    first = lowest == null ? null : lowest.getValue();
    firstOrder = lowest == null ? 0 : lowest.getKey();
  }
}
