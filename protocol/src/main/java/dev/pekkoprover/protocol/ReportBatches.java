package dev.pekkoprover.protocol;

import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Worker reports (results, failures, declines) gathered by where they go until their sender flushes
 * them: then one message per destination, the lone report itself or all of its reports in one
 * {@link Reports}. A worker gathers by the queue (entity) that dispatched each task, a queue front
 * by entity id. The sender flushes when a message it sent itself with the first report of a batch
 * comes round, after the messages already in its mailbox: so reports cross the network in batches
 * under load and one by one when idle. A sender may also send one destination's batch early ({@link
 * #flush(Object, BiConsumer)}), as a worker does when a batch for another node is full.
 *
 * <p>Owned by one actor and used on its thread only; not thread-safe.
 *
 * @param <K> where a batch goes: an actor ref, an entity id (a map key: equals and hashCode)
 */
public final class ReportBatches<K> {

  /** The reports bound for one destination, in the order they came within each kind. */
  private static final class Batch {
    final List<TaskSucceeded> succeeded = new ArrayList<>();
    final List<TaskFailed> failed = new ArrayList<>();
    final List<TaskDeclined> declined = new ArrayList<>();

    int size() {
      return succeeded.size() + failed.size() + declined.size();
    }

    QueueCommand message() {
      if (size() > 1) {
        return new Reports(succeeded, failed, declined);
      }
      if (!succeeded.isEmpty()) {
        return succeeded.get(0);
      }
      return failed.isEmpty() ? declined.get(0) : failed.get(0);
    }
  }

  /** Destinations in the order of their first report since the last flush. */
  private Map<K, Batch> batches = new LinkedHashMap<>();

  /**
   * Adds a result for {@code to}.
   *
   * @return true when it is the first report since the last flush: the moment to schedule the next
   *     flush
   */
  public boolean add(K to, TaskSucceeded report) {
    return add(to, batch -> batch.succeeded.add(report));
  }

  /** Adds a failure for {@code to}; returns as {@link #add(Object, TaskSucceeded)}. */
  public boolean add(K to, TaskFailed report) {
    return add(to, batch -> batch.failed.add(report));
  }

  /** Adds a decline for {@code to}; returns as {@link #add(Object, TaskSucceeded)}. */
  public boolean add(K to, TaskDeclined report) {
    return add(to, batch -> batch.declined.add(report));
  }

  /** True when nothing waits to be sent. */
  public boolean isEmpty() {
    return batches.isEmpty();
  }

  /**
   * Hands every destination's reports to {@code send}, one message per destination in the order of
   * their first report, and starts empty again. Does nothing when empty.
   *
   * @param send called once per destination with a {@link TaskSucceeded}, {@link TaskFailed},
   *     {@link TaskDeclined} (a lone report) or a {@link Reports} (several)
   */
  public void flush(BiConsumer<? super K, ? super QueueCommand> send) {
    if (batches.isEmpty()) {
      return;
    }
    Map<K, Batch> out = batches;
    batches = new LinkedHashMap<>();
    out.forEach((to, batch) -> send.accept(to, batch.message()));
  }

  /** The number of reports gathered for {@code to} since its last flush. */
  public int size(K to) {
    Batch batch = batches.get(to);
    return batch == null ? 0 : batch.size();
  }

  /**
   * Hands {@code to}'s reports alone to {@code send} (one message, as {@link #flush(BiConsumer)}
   * would) and forgets them; the other destinations' reports wait for the next flush. Does nothing
   * when none wait for {@code to}.
   */
  public void flush(K to, BiConsumer<? super K, ? super QueueCommand> send) {
    Batch batch = batches.remove(to);
    if (batch != null) {
      send.accept(to, batch.message());
    }
  }

  private boolean add(K to, Consumer<Batch> adding) {
    boolean first = batches.isEmpty();
    adding.accept(batches.computeIfAbsent(to, key -> new Batch()));
    return first;
  }
}
