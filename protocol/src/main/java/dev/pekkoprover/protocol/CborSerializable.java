package dev.pekkoprover.protocol;

/**
 * Marker for every message and task payload that may cross a node. It is bound to Pekko's {@code
 * jackson-cbor} serializer in this module's {@code reference.conf}; tests run with {@code
 * serialize-messages = on} so that a message that does not implement it (or does not round-trip)
 * fails at once, in one JVM.
 */
public interface CborSerializable {}
