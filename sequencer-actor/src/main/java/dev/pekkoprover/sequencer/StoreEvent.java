package dev.pekkoprover.sequencer;

import dev.pekkoprover.protocol.CborSerializable;

/**
 * An event of a {@link ResultStore}'s journal: results stored. {@link StoredBatch} is what the
 * store writes (up to {@code results-per-event} results in one journal row); a lone {@link
 * StoredResult} is the event of earlier versions, still read on recovery.
 */
public sealed interface StoreEvent extends CborSerializable permits StoredBatch, StoredResult {}
