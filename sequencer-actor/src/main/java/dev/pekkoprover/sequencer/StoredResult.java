package dev.pekkoprover.sequencer;

/**
 * One result as the result store keeps it: the value serialised with the node's serializer for it,
 * under its content key. Only successes are ever stored. Written in {@link StoredBatch} events; a
 * lone one is the event journals of earlier versions hold.
 *
 * <p>{@code bytes} is never changed after construction; equality is by reference (a record over an
 * array), which the store does not rely on.
 *
 * @param key the content key ({@link ContentKeys}): task type name and the SHA-256 of the
 *     serialised input, or a flow's durable name in the flow-outcome store
 * @param taskType the task type name (or "flow"), for people reading the journal
 * @param serializerId the Pekko serializer that wrote {@code bytes}
 * @param manifest that serializer's manifest for the value
 * @param bytes the serialised value
 */
public record StoredResult(
    String key, String taskType, int serializerId, String manifest, byte[] bytes)
    implements StoreEvent {

  /**
   * What the entry costs against {@code max-bytes}: the value, the key and a fixed overhead per
   * entry.
   */
  public long weight() {
    return bytes.length + 2L * (key.length() + manifest.length()) + 64;
  }
}
