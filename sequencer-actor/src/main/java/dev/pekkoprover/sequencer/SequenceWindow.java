package dev.pekkoprover.sequencer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The values of a flow's pending tasks by sequence number: numbers are handed out in order by
 * {@link #add}, removed in any order, and the window keeps only the span from the oldest one still
 * present to the newest, in one array. A pending task costs one array slot (4 bytes with compressed
 * references) instead of a hash map's node and table share (about 40 bytes): at a million pending
 * tasks that is the difference between a flow fitting a 512 MB heap beside its queue or not. Not
 * thread-safe (an actor's state).
 *
 * <p>The cost to know: the span, not the count, sets the size. One task that stays pending while
 * many later ones come and go keeps their slots (empty, 4 bytes each) until it is removed.
 */
final class SequenceWindow<T> {
  private static final int MIN_CAPACITY = 16;

  private Object[] slots = new Object[MIN_CAPACITY];

  /** Sequence number of {@code slots[0]}. */
  private long base = 1;

  /** First slot that may hold a value; every slot before it is empty. */
  private int head;

  /** One past the last slot handed out. */
  private int tail;

  private int size;

  /** Stores {@code value} under the next sequence number (1, 2, ...) and returns that number. */
  long add(T value) {
    if (value == null) {
      throw new IllegalArgumentException("a pending value must not be null");
    }
    if (tail == slots.length) {
      makeRoom();
    }
    slots[tail++] = value;
    size++;
    return base + tail - 1;
  }

  /** The value stored under {@code sequence}, left in place; null when there is none. */
  @SuppressWarnings("unchecked")
  T get(long sequence) {
    long index = sequence - base;
    return index < head || index >= tail ? null : (T) slots[(int) index];
  }

  /**
   * The value stored under {@code sequence} and removes it; null when there is none (never added,
   * or removed).
   */
  @SuppressWarnings("unchecked")
  T remove(long sequence) {
    long index = sequence - base;
    if (index < head || index >= tail) {
      return null;
    }
    int i = (int) index;
    T value = (T) slots[i];
    if (value == null) {
      return null;
    }
    slots[i] = null;
    if (--size == 0) {
      base += tail;
      head = 0;
      tail = 0;
    } else if (i == head) {
      while (slots[head] == null) {
        head++;
      }
    }
    return value;
  }

  /** Every value present, oldest first. */
  @SuppressWarnings("unchecked")
  void forEach(Consumer<? super T> action) {
    for (int i = head; i < tail; i++) {
      Object value = slots[i];
      if (value != null) {
        action.accept((T) value);
      }
    }
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Slots allocated: the memory the window holds, for tests. */
  int capacity() {
    return slots.length;
  }

  /**
   * Full at the end: slides the live span to the front, into an array sized for it (grown or
   * shrunk).
   */
  private void makeRoom() {
    int span = tail - head;
    int capacity = slots.length;
    if (span * 2 > capacity) {
      capacity *= 2; // more than half is live span: grow
    } else {
      while (capacity > MIN_CAPACITY && span * 4 < capacity) {
        capacity /= 2; // mostly empty: give memory back, keeping room to grow
      }
    }
    Object[] next = capacity == slots.length ? slots : new Object[capacity];
    System.arraycopy(slots, head, next, 0, span);
    if (next == slots) {
      Arrays.fill(slots, span, tail, null);
    }
    slots = next;
    base += head;
    tail = span;
    head = 0;
  }
}
