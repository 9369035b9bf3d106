package dev.pekkoprover.protocol.flow;

import java.util.TreeMap;

/**
 * Bookkeeping for an eager, order-keeping pairwise reduction over leaves {@code 0..n-1}: a finished
 * value covers a half-open range of leaves, and two adjacent finished ranges merge as soon as both
 * are there (no level-by-level barrier), the lower one on the left, so the root covers the leaves
 * in order.
 *
 * <p>Which ranges pair up is fixed in advance: they are the two halves of a node of the balanced
 * binary tree over {@code [0, n)} (split at the midpoint). Merging whichever neighbour happens to
 * be finished first (as Protokit does) builds lopsided trees up to n-1 merges deep when results
 * arrive out of order; pairing within the fixed tree keeps the depth at ceil(log2 n) whatever the
 * order, which shortens the critical path, and gives the same merges for the same inputs on every
 * run, so merged proofs can be cached and compared.
 *
 * <p>A plain class with no actor in it: {@link Reduction} drives it from a flow.
 */
public final class AdjacentRanges<R> {

  /** Two adjacent finished ranges to merge into {@code [left.from, right.to)}. */
  public record Merge<R>(int from, int middle, int to, R left, R right) {}

  private record Slot<R>(int to, R value, boolean merging) {}

  private final int size;
  private final TreeMap<Integer, Slot<R>> slots = new TreeMap<>();
  private int leavesOffered;

  public AdjacentRanges(int size) {
    if (size < 1) {
      throw new IllegalArgumentException("a reduction needs at least one leaf, got " + size);
    }
    this.size = size;
  }

  public int size() {
    return size;
  }

  /** Records leaf {@code index}'s value; returns the merge it makes possible, or null. */
  public Merge<R> leaf(int index, R value) {
    if (index < 0 || index >= size) {
      throw new IllegalArgumentException("leaf " + index + " is outside 0.." + (size - 1));
    }
    if (slots.containsKey(index)) {
      throw new IllegalStateException("leaf " + index + " was already offered");
    }
    leavesOffered++;
    return finished(index, index + 1, value);
  }

  /**
   * Records the result of a merge this class handed out; returns the next merge it makes possible,
   * or null.
   */
  public Merge<R> merged(int from, int to, R value) {
    Slot<R> slot = slots.get(from);
    if (slot == null || !slot.merging() || slot.to() != to) {
      throw new IllegalStateException("no merge of [" + from + "," + to + ") is under way");
    }
    return finished(from, to, value);
  }

  private Merge<R> finished(int from, int to, R value) {
    int lo = 0;
    int hi = size;
    while (!(lo == from && hi == to)) {
      int mid = (lo + hi) >>> 1;
      if (to <= mid) {
        if (from == lo && to == mid) {
          return pairWith(from, to, value, mid, hi, lo, true);
        }
        hi = mid;
      } else if (from >= mid) {
        if (from == mid && to == hi) {
          return pairWith(from, to, value, lo, mid, lo, false);
        }
        lo = mid;
      } else {
        throw new IllegalStateException(
            "[" + from + "," + to + ") is not a range of the reduction tree over [0," + size + ")");
      }
    }
    slots.put(from, new Slot<>(to, value, false)); // the root
    return null;
  }

  /**
   * The range [from, to) is finished; its sibling in the tree is [siblingFrom, siblingTo) and their
   * parent starts at {@code parentFrom}. Merges with the sibling if it is finished, else waits for
   * it.
   */
  private Merge<R> pairWith(
      int from, int to, R value, int siblingFrom, int siblingTo, int parentFrom, boolean isLeft) {
    Slot<R> sibling = slots.get(siblingFrom);
    if (sibling == null || sibling.merging() || sibling.to() != siblingTo) {
      slots.put(from, new Slot<>(to, value, false));
      return null;
    }
    slots.remove(siblingFrom);
    slots.remove(from);
    int parentTo = isLeft ? siblingTo : to;
    slots.put(parentFrom, new Slot<>(parentTo, null, true));
    return isLeft
        ? new Merge<>(from, to, siblingTo, value, sibling.value())
        : new Merge<>(siblingFrom, from, to, sibling.value(), value);
  }

  /** True when one finished range covers every leaf. */
  public boolean isComplete() {
    Slot<R> first = slots.get(0);
    return slots.size() == 1 && first != null && first.to() == size && !first.merging();
  }

  /** The root value; only when {@link #isComplete()}. */
  public R root() {
    if (!isComplete()) {
      throw new IllegalStateException("the reduction is not complete: " + describe());
    }
    return slots.get(0).value();
  }

  public int leavesOffered() {
    return leavesOffered;
  }

  /** The ranges as they stand, for error messages. */
  public String describe() {
    StringBuilder text = new StringBuilder();
    slots.forEach(
        (from, slot) ->
            text.append('[')
                .append(from)
                .append(',')
                .append(slot.to())
                .append(slot.merging() ? ") merging " : ") ready "));
    return text.toString().trim();
  }
}
