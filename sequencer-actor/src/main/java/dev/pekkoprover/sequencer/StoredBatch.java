package dev.pekkoprover.sequencer;

import java.util.List;

/**
 * Results stored together: one event, so one journal row, for up to {@code results-per-event}
 * results of one group commit. A row per result cost the journal's database 50-70 us of CPU each
 * (H2's index and page work, BENCHMARKS.md), most of the durable path's cost for short tasks.
 *
 * @param results oldest first, as the store adds them
 */
public record StoredBatch(List<StoredResult> results) implements StoreEvent {}
