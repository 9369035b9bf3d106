package dev.pekkoprover.queue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A hash table of elements by the string id each one carries: open addressing with linear probing
 * in one array of elements, so an element costs one array slot (4 bytes with compressed references,
 * about 8 at the table's fill) instead of a {@code HashMap}'s 32-byte node and its slot. The queue
 * keeps every task it holds in one (a million pending tasks: 32 MB less than a {@code HashMap}).
 *
 * <p>The table grows (doubles) when it would be more than two thirds full; it never shrinks. A
 * removal shifts the entries behind it back (no tombstones), so lookups stay short after any number
 * of removals. Ids are compared with {@code equals}; an element's id must not change while it is in
 * the table. Not thread-safe: one owner calls it.
 *
 * @param <E> the element class
 */
final class IdTable<E> {
  private static final int MIN_CAPACITY = 16;

  private final Function<? super E, String> idOf;
  private Object[] slots;
  private int size;

  /**
   * An empty table.
   *
   * @param idOf an element's id, not null
   * @param expected how many elements it may hold before it first grows
   */
  IdTable(Function<? super E, String> idOf, int expected) {
    this.idOf = idOf;
    int capacity = MIN_CAPACITY;
    while (capacity / 3 * 2 < expected) {
      capacity <<= 1;
    }
    this.slots = new Object[capacity];
  }

  /** How many elements it holds. */
  int size() {
    return size;
  }

  /** The element with this id; null when there is none. */
  E get(String id) {
    int i = find(id);
    return i < 0 ? null : element(i);
  }

  /** Whether it holds an element with this id. */
  boolean contains(String id) {
    return find(id) >= 0;
  }

  /**
   * Adds {@code element} unless one with the same id is there: returns that one (and adds nothing),
   * or null when it added {@code element}.
   */
  E putIfAbsent(E element) {
    String id = idOf.apply(element);
    int mask = slots.length - 1;
    for (int i = home(id, mask); ; i = (i + 1) & mask) {
      Object there = slots[i];
      if (there == null) {
        slots[i] = element;
        if (++size > slots.length / 3 * 2) {
          grow();
        }
        return null;
      }
      E other = element(i);
      if (idOf.apply(other).equals(id)) {
        return other;
      }
    }
  }

  /** Removes the element with this id and returns it; null when there was none. */
  E remove(String id) {
    int i = find(id);
    if (i < 0) {
      return null;
    }
    E removed = element(i);
    delete(i);
    return removed;
  }

  /**
   * The elements {@code which} accepts, in no particular order: a scan of the whole table. The
   * table may be changed after, while the list is worked through.
   */
  List<E> select(Predicate<? super E> which) {
    List<E> matching = new ArrayList<>();
    for (Object slot : slots) {
      if (slot != null) {
        @SuppressWarnings("unchecked") // only elements are stored
        E element = (E) slot;
        if (which.test(element)) {
          matching.add(element);
        }
      }
    }
    return matching;
  }

  private int find(String id) {
    int mask = slots.length - 1;
    for (int i = home(id, mask); ; i = (i + 1) & mask) {
      Object there = slots[i];
      if (there == null) {
        return -1;
      }
      if (idOf.apply(element(i)).equals(id)) {
        return i;
      }
    }
  }

  /**
   * Empties slot {@code hole} and moves back each entry of the run behind it whose home is not
   * between the hole and its slot (cyclically), so that every entry stays reachable from its home
   * without crossing an empty slot.
   */
  private void delete(int hole) {
    int mask = slots.length - 1;
    slots[hole] = null;
    size--;
    for (int i = (hole + 1) & mask; slots[i] != null; i = (i + 1) & mask) {
      int home = home(idOf.apply(element(i)), mask);
      // the entry at i may fill the hole unless its home lies cyclically in (hole, i]
      boolean homeInRange = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
      if (!homeInRange) {
        slots[hole] = slots[i];
        slots[i] = null;
        hole = i;
      }
    }
  }

  private void grow() {
    Object[] old = slots;
    slots = new Object[old.length << 1];
    int mask = slots.length - 1;
    for (Object slot : old) {
      if (slot != null) {
        @SuppressWarnings("unchecked") // only elements are stored
        E element = (E) slot;
        int i = home(idOf.apply(element), mask);
        while (slots[i] != null) {
          i = (i + 1) & mask;
        }
        slots[i] = slot;
      }
    }
  }

  /** The slot an id hashes to: String's cached hash, spread (Fibonacci hashing) over the mask. */
  private static int home(String id, int mask) {
    int h = id.hashCode() * 0x9E3779B9;
    return (h ^ (h >>> 16)) & mask;
  }

  @SuppressWarnings("unchecked") // only elements are stored
  private E element(int i) {
    return (E) slots[i];
  }
}
