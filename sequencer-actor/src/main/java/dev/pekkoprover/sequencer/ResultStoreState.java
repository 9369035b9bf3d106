package dev.pekkoprover.sequencer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The result store's state: a map of stored results bounded by count and by bytes, mutated only by
 * the store actor (its event handler), read by flows of the same node at any time through {@link
 * ResultIndex}.
 *
 * <p>Eviction is an approximate LRU, the "second chance" (CLOCK) scheme: entries queue in the order
 * they were stored; when the map is over a bound the oldest goes, unless it was read since it was
 * last looked at, in which case it moves to the back once. Reads only set a flag, so that a flow
 * never takes a lock to read. The read flags are not journaled: after a restart the order is the
 * stored order of the snapshot and the events replayed after it. An evicted result is simply
 * computed again when asked for.
 *
 * <p>What a reader must not miss: the store applies an event to this state <em>before</em> the
 * journal confirms it (Pekko applies events first), so an entry added while running is {@code
 * confirmed} only once its write succeeded; {@link ResultIndex#lookup} serves confirmed entries
 * only. Entries replayed at recovery are confirmed.
 */
final class ResultStoreState {

  /** One stored result and its flags. */
  static final class Entry {
    final StoredResult result;
    final long weight;

    /** The journal confirmed the write (or the entry was replayed from it). */
    volatile boolean confirmed;

    /** Read since the eviction hand last passed it. */
    volatile boolean referenced;

    /** Evicted or replaced: the eviction queue skips it. Store thread only. */
    boolean removed;

    Entry(StoredResult result, boolean confirmed) {
      this.result = result;
      this.weight = result.weight();
      this.confirmed = confirmed;
    }
  }

  private final int maxEntries;
  private final long maxBytes;
  private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

  /** Oldest first; may hold removed entries (replaced keys), skipped when reached. */
  private final ArrayDeque<Entry> order = new ArrayDeque<>();

  private long bytes;
  private long evicted;

  /**
   * False while the store recovers: what is added then comes from the journal, so it is confirmed.
   */
  private boolean live;

  ResultStoreState(int maxEntries, long maxBytes) {
    if (maxEntries < 1 || maxBytes < 1) {
      throw new IllegalArgumentException(
          "the result store needs max-entries >= 1 and max-bytes >= 1");
    }
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  /**
   * Applies the event "result stored": makes room (evicting older entries, never the new one), then
   * adds or replaces the entry. A result heavier than max-bytes on its own is not held at all.
   */
  ResultStoreState add(StoredResult result) {
    Entry entry = new Entry(result, !live);
    Entry previous = entries.remove(result.key());
    if (previous != null) {
      previous.removed = true;
      bytes -= previous.weight;
    }
    if (entry.weight > maxBytes) {
      evicted++;
      return this;
    }
    makeRoom(entry.weight);
    entries.put(result.key(), entry);
    order.addLast(entry);
    bytes += entry.weight;
    return this;
  }

  /** Evicts until one more entry of this weight fits both bounds. */
  private void makeRoom(long weight) {
    while ((entries.size() + 1 > maxEntries || bytes + weight > maxBytes) && !order.isEmpty()) {
      Entry oldest = order.pollFirst();
      if (oldest.removed) {
        continue;
      }
      if (oldest.referenced) {
        oldest.referenced =
            false; // read lately: a second chance; the flag is gone when the hand comes round again
        order.addLast(oldest);
        continue;
      }
      oldest.removed = true;
      entries.remove(oldest.result.key(), oldest);
      bytes -= oldest.weight;
      evicted++;
    }
    if (order.size() > 2 * Math.max(entries.size(), 16)) {
      order.removeIf(e -> e.removed); // replaced keys left too many dead slots behind
    }
  }

  /**
   * Marks these results written, after the journal confirmed them; a result evicted or replaced
   * meanwhile is skipped.
   */
  void confirm(List<StoredResult> written) {
    for (StoredResult result : written) {
      Entry entry = entries.get(result.key());
      if (entry != null && entry.result == result) {
        entry.confirmed = true;
      }
    }
  }

  /** True when this key is held and its write was confirmed: writing it again would add nothing. */
  boolean holdsConfirmed(String key) {
    Entry entry = entries.get(key);
    return entry != null && entry.confirmed;
  }

  /** The confirmed entry under {@code key}, marked as read; null when there is none. Any thread. */
  StoredResult lookup(String key) {
    Entry entry = entries.get(key);
    if (entry == null || !entry.confirmed) {
      return null;
    }
    if (!entry.referenced) {
      entry.referenced = true;
    }
    return entry.result;
  }

  /**
   * Empty and recovering again: Pekko restarts the store after a journal failure with this same
   * object (its Java API asks for the empty state once) and replays onto it; entries left in it
   * would be replaced by unconfirmed copies (the state took itself for live), and every lookup
   * would miss. Store thread only.
   */
  void reset() {
    entries.clear();
    order.clear();
    bytes = 0;
    evicted = 0;
    live = false;
  }

  /** Recovery is over: entries added from now on wait for their write to be confirmed. */
  void goLive() {
    live = true;
  }

  /** The entries, oldest first: what a snapshot holds. Store thread only. */
  List<StoredResult> snapshot() {
    List<StoredResult> list = new ArrayList<>(entries.size());
    for (Entry entry : order) {
      if (!entry.removed) {
        list.add(entry.result);
      }
    }
    return list;
  }

  /**
   * A state holding a snapshot's entries (all confirmed: they were read from the snapshot store).
   */
  static ResultStoreState fromSnapshot(List<StoredResult> snapshot, int maxEntries, long maxBytes) {
    ResultStoreState state = new ResultStoreState(maxEntries, maxBytes);
    snapshot.forEach(state::add);
    return state;
  }

  int size() {
    return entries.size();
  }

  long bytes() {
    return bytes;
  }

  /**
   * Entries evicted by this incarnation of the state (not journaled: recounted from zero after a
   * restart).
   */
  long evicted() {
    return evicted;
  }
}
