package dev.pekkoprover.protocol.flow;

import java.util.Map;
import java.util.TreeMap;

/**
 * Bookkeeping for an eager, order-keeping pairwise reduction over leaves {@code 0..n-1}: a finished value covers a
 * half-open range of leaves, and two finished ranges merge as soon as they are adjacent (no level-by-level barrier).
 * Only adjacent ranges ever merge, the lower one on the left, so the root covers the leaves in order.
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

  /** Records the result of a merge this class handed out; returns the next merge it makes possible, or null. */
  public Merge<R> merged(int from, int to, R value) {
    Slot<R> slot = slots.get(from);
    if (slot == null || !slot.merging() || slot.to() != to) {
      throw new IllegalStateException("no merge of [" + from + "," + to + ") is under way");
    }
    return finished(from, to, value);
  }

  private Merge<R> finished(int from, int to, R value) {
    Map.Entry<Integer, Slot<R>> before = slots.lowerEntry(from);
    if (before != null && before.getValue().to() == from && !before.getValue().merging()) {
      int leftFrom = before.getKey();
      R left = before.getValue().value();
      slots.remove(from);
      slots.put(leftFrom, new Slot<>(to, null, true));
      return new Merge<>(leftFrom, from, to, left, value);
    }
    Slot<R> after = slots.get(to);
    if (after != null && !after.merging()) {
      slots.remove(to);
      slots.put(from, new Slot<>(after.to(), null, true));
      return new Merge<>(from, to, after.to(), value, after.value());
    }
    slots.put(from, new Slot<>(to, value, false));
    return null;
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
            text.append('[').append(from).append(',').append(slot.to()).append(slot.merging() ? ") merging " : ") ready "));
    return text.toString().trim();
  }
}
