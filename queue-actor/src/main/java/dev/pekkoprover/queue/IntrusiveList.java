package dev.pekkoprover.queue;

/**
 * A doubly linked list threaded through its elements: each element carries its own links, so adding
 * and removing allocate nothing and removing an element needs no search. An element can be in two
 * lists at once, one through each of its two pairs of links; a list is told at construction which
 * pair it uses ({@link Links}), and an element is in at most one list per pair. The queue uses it
 * for the tasks in flight: each in its type's list (by lease deadline) and in its worker's list
 * (what the worker holds).
 *
 * <p>No checks on the hot path: {@link #remove} and {@link #next} take an element that is in this
 * list, {@link #addLast} one that is in no list of the same pair. Not thread-safe: one owner calls
 * it.
 *
 * @param <E> the element class, which extends {@link Element}
 */
final class IntrusiveList<E extends IntrusiveList.Element<E>> {

  /** Which of an element's two pairs of links a list goes through. */
  enum Links {
    FIRST,
    SECOND
  }

  /** What an element carries: two pairs of links, only ever touched by the lists it is in. */
  abstract static class Element<E extends Element<E>> {
    private E prev1;
    private E next1;
    private E prev2;
    private E next2;
  }

  private final boolean second;
  private E head;
  private E tail;

  IntrusiveList(Links links) {
    this.second = links == Links.SECOND;
  }

  /** The first element, null when the list is empty. */
  E first() {
    return head;
  }

  /** The last element, null when the list is empty. */
  E last() {
    return tail;
  }

  boolean isEmpty() {
    return head == null;
  }

  /** The element after {@code element} (which is in this list), or null after the last. */
  E next(E element) {
    Element<E> links = element;
    return second ? links.next2 : links.next1;
  }

  /** Appends an element that is in no list of this pair. */
  void addLast(E element) {
    setPrev(element, tail);
    setNext(element, null);
    if (tail == null) {
      head = element;
    } else {
      setNext(tail, element);
    }
    tail = element;
  }

  /**
   * Unlinks an element that is in this list; its links are cleared, so it can join another list of
   * this pair.
   */
  void remove(E element) {
    Element<E> links = element;
    E prev = second ? links.prev2 : links.prev1;
    E next = second ? links.next2 : links.next1;
    if (prev == null) {
      head = next;
    } else {
      setNext(prev, next);
    }
    if (next == null) {
      tail = prev;
    } else {
      setPrev(next, prev);
    }
    setPrev(element, null);
    setNext(element, null);
  }

  private void setPrev(E element, E prev) {
    Element<E> links = element;
    if (second) {
      links.prev2 = prev;
    } else {
      links.prev1 = prev;
    }
  }

  private void setNext(E element, E next) {
    Element<E> links = element;
    if (second) {
      links.next2 = next;
    } else {
      links.next1 = next;
    }
  }
}
