package dev.pekkoprover.sequencer;

import java.util.List;

/**
 * Results stored together: one event, so one journal row, for up to {@code results-per-event}
 * results of one group commit. A row per result cost the journal's database 50-70 us of CPU each
 * (H2's index and page work, BENCHMARKS.md), most of the durable path's cost for short tasks.
 *
 * <p>An empty one is a filler: it follows a write of many bytes so that Pekko's count-based
 * retention, which counts events, snapshots after about {@code snapshot-every-bytes} of results as
 * well ({@link StoreSettings.Bounds#fillersFor}). A build older than fillers reads one as a batch
 * of no results.
 *
 * @param results oldest first, as the store adds them; empty in a filler
 */
public record StoredBatch(List<StoredResult> results) implements StoreEvent {
  /** The filler event. */
  public static final StoredBatch FILLER = new StoredBatch(List.of());
}
