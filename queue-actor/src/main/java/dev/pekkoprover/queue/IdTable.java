package dev.pekkoprover.queue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A hash table of elements by the string id each one carries, chained through the elements
 * themselves: each element ({@link Entry}) carries its id's hash and the next element of its
 * bucket, so the table is one array of bucket heads and an element costs 8 bytes of its own plus
 * about 5 of that array (with compressed references), instead of a {@code HashMap}'s 32-byte node
 * and its slot. The queue keeps every task it holds in one: a million pending tasks take about 24
 * MB less than in a {@code HashMap}.
 *
 * <p>Why chained through the elements and not open addressing: a lookup reads one bucket slot and
 * then the element itself, which the caller reads anyway, as a {@code HashMap} reads its node. The
 * open-addressing table it replaces (one array of elements) read the elements, and the elements'
 * ids, of every slot it probed or shifted on removal; with 200,000 tasks in flight the one-JVM
 * throughput workload ran about 20% slower than with a {@code HashMap} (BENCHMARKS.md).
 *
 * <p>The table grows (doubles) when it holds more than three elements per four buckets; it never
 * shrinks. Ids are compared with {@code equals} (after the hash and a reference check); an
 * element's id must not change while it is in the table, and an element is in at most one table.
 * Not thread-safe: one owner calls it.
 *
 * @param <E> the element class, which extends {@link Entry}
 */
final class IdTable<E extends IdTable.Entry<E>> {
  private static final int MIN_CAPACITY = 16;

  /**
   * What an element carries to be in a table: its id's spread hash and the next element of its
   * bucket, only ever touched by the table. It is also an element of intrusive lists (the queue's
   * tasks are in both).
   */
  abstract static class Entry<E extends Entry<E>> extends IntrusiveList.Element<E> {
    int idHash;
    E nextInBucket;

    /** Its id, not null; the same for as long as it is in a table. */
    abstract String id();
  }

  /** Bucket heads: {@code buckets[hash & mask]} is the first element of that bucket, or null. */
  private Object[] buckets;

  private int size;

  /**
   * An empty table.
   *
   * @param expected how many elements it may hold before it first grows
   */
  IdTable(int expected) {
    int capacity = MIN_CAPACITY;
    while (capacity / 4 * 3 < expected) {
      capacity <<= 1;
    }
    this.buckets = new Object[capacity];
  }

  /** How many elements it holds. */
  int size() {
    return size;
  }

  /** The element with this id; null when there is none. */
  E get(String id) {
    int hash = spread(id);
    for (E e = head(hash & (buckets.length - 1)); e != null; e = e.nextInBucket) {
      if (e.idHash == hash && sameId(e, id)) {
        return e;
      }
    }
    return null;
  }

  /** Whether it holds an element with this id. */
  boolean contains(String id) {
    return get(id) != null;
  }

  /**
   * Adds {@code element} unless one with the same id is there: returns that one (and adds nothing),
   * or null when it added {@code element}.
   */
  E putIfAbsent(E element) {
    String id = element.id();
    int hash = spread(id);
    int i = hash & (buckets.length - 1);
    E first = head(i);
    for (E e = first; e != null; e = e.nextInBucket) {
      if (e.idHash == hash && sameId(e, id)) {
        return e;
      }
    }
    element.idHash = hash;
    element.nextInBucket = first;
    buckets[i] = element;
    if (++size > buckets.length / 4 * 3) {
      grow();
    }
    return null;
  }

  /** Removes the element with this id and returns it; null when there was none. */
  E remove(String id) {
    int hash = spread(id);
    int i = hash & (buckets.length - 1);
    E before = null;
    for (E e = head(i); e != null; before = e, e = e.nextInBucket) {
      if (e.idHash == hash && sameId(e, id)) {
        if (before == null) {
          buckets[i] = e.nextInBucket;
        } else {
          before.nextInBucket = e.nextInBucket;
        }
        e.nextInBucket = null;
        size--;
        return e;
      }
    }
    return null;
  }

  /**
   * The elements {@code which} accepts, in no particular order: a scan of the whole table. The
   * table may be changed after, while the list is worked through.
   */
  List<E> select(Predicate<? super E> which) {
    List<E> matching = new ArrayList<>();
    for (int i = 0; i < buckets.length; i++) {
      for (E e = head(i); e != null; e = e.nextInBucket) {
        if (which.test(e)) {
          matching.add(e);
        }
      }
    }
    return matching;
  }

  private static boolean sameId(Entry<?> e, String id) {
    String its = e.id();
    return its == id || its.equals(id);
  }

  private void grow() {
    Object[] old = buckets;
    buckets = new Object[old.length << 1];
    int mask = buckets.length - 1;
    for (int j = 0; j < old.length; j++) {
      @SuppressWarnings("unchecked") // only elements are stored
      E e = (E) old[j];
      while (e != null) {
        E next = e.nextInBucket;
        int i = e.idHash & mask;
        e.nextInBucket = head(i);
        buckets[i] = e;
        e = next;
      }
    }
  }

  @SuppressWarnings("unchecked") // only elements are stored
  private E head(int i) {
    return (E) buckets[i];
  }

  /**
   * An id's hash as stored: String's cached hash, spread (Fibonacci hashing); its bits under the
   * table's mask pick the bucket.
   */
  private static int spread(String id) {
    int h = id.hashCode() * 0x9E3779B9;
    return h ^ (h >>> 16);
  }
}
