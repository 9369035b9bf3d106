package dev.pekkoprover.queue;

import java.util.Arrays;

/**
 * The workers serving one task type, ranked for the next task of that type: a "ladder" of buckets
 * by free slots. The best worker is the head of the highest non-empty bucket above 0, so idle
 * capacity gets work first; a worker whose free slots change goes to the tail of its new bucket,
 * which spreads ties round-robin.
 *
 * <p>Workers stand on the ladder as {@link Rung}s, one worker's place in one type's ladder (a
 * worker serving several types has a rung in each). The ladder links the rungs themselves, so every
 * operation is O(1) and allocates nothing once the buckets have grown to the highest free-slot
 * count seen. Not thread-safe: one owner calls it.
 *
 * @param <S> the owner's rung class
 */
final class WorkerLadder<S extends WorkerLadder.Rung> {

  /**
   * One worker's place in one ladder. The owner extends it with what it needs (the worker, the
   * type).
   */
  abstract static class Rung {
    /** The bucket it stands in (its free slots when placed), or -1 while it is on no ladder. */
    private int bucket = -1;

    private Rung prev;
    private Rung next;

    /** Whether it stands on a ladder. */
    final boolean onLadder() {
      return bucket >= 0;
    }
  }

  /** heads[b] / tails[b]: the rungs with b free slots, longest there first. */
  private Rung[] heads = new Rung[4];

  private Rung[] tails = new Rung[4];

  /** Highest b >= 1 with a rung, or 0 when no worker on this ladder has a free slot. */
  private int top;

  /**
   * Puts a rung that is on no ladder at the tail of the bucket for {@code free} slots (a negative
   * count counts as 0: on the ladder, but never the best).
   */
  void add(S rung, int free) {
    int b = Math.max(0, free);
    link(rung, b);
    if (b > top) {
      top = b;
    }
  }

  /** Takes a rung off this ladder; nothing for a rung that is on no ladder. */
  void remove(S rung) {
    if (!rung.onLadder()) {
      return;
    }
    unlink(rung);
    lowerTop();
  }

  /**
   * The worker of a rung on this ladder has {@code free} slots now: it goes to the tail of that
   * bucket, or stays where it is when the count did not change.
   */
  void move(S rung, int free) {
    int b = Math.max(0, free);
    Rung placed = rung;
    if (b == placed.bucket) {
      return;
    }
    relink(rung, b);
  }

  /**
   * As {@link #move}, but to the tail of the bucket for {@code free} slots even when that is the
   * bucket it stands in: for a rung whose count changed (and maybe changed back) since it was last
   * placed, so that ties still take turns. Nothing for a rung that is on no ladder.
   */
  void requeue(S rung, int free) {
    if (!rung.onLadder()) {
      return;
    }
    relink(rung, Math.max(0, free));
  }

  /** Takes the rung off its bucket and puts it at the tail of bucket {@code b}. */
  private void relink(S rung, int b) {
    unlink(rung);
    link(rung, b);
    if (b > top) {
      top = b;
    } else {
      lowerTop();
    }
  }

  /** Whether some worker on this ladder has a free slot. */
  boolean hasFreeSlot() {
    return top > 0;
  }

  /**
   * The rung of the worker that gets the next task: most free slots, longest there; null when none
   * has a slot.
   */
  @SuppressWarnings("unchecked")
  S best() {
    return top > 0 ? (S) heads[top] : null;
  }

  private void lowerTop() {
    while (top > 0 && heads[top] == null) {
      top--;
    }
  }

  private void link(Rung rung, int b) {
    if (b >= heads.length) {
      int size = Math.max(b + 1, heads.length * 2);
      heads = Arrays.copyOf(heads, size);
      tails = Arrays.copyOf(tails, size);
    }
    rung.bucket = b;
    rung.next = null;
    rung.prev = tails[b];
    if (tails[b] == null) {
      heads[b] = rung;
    } else {
      tails[b].next = rung;
    }
    tails[b] = rung;
  }

  private void unlink(Rung rung) {
    int b = rung.bucket;
    if (rung.prev == null) {
      heads[b] = rung.next;
    } else {
      rung.prev.next = rung.next;
    }
    if (rung.next == null) {
      tails[b] = rung.prev;
    } else {
      rung.next.prev = rung.prev;
    }
    rung.prev = null;
    rung.next = null;
    rung.bucket = -1;
  }
}
