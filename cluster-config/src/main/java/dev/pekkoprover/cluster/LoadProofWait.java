package dev.pekkoprover.cluster;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;

/**
 * The wait of a {@link LoadRun} for its accepted transfers to be proven ({@code --wait-proven}),
 * and the proving latency of each: from its submission to the moment the chain's proven height was
 * first seen to cover its block.
 *
 * <p>What a reader must not miss: the proven height is only seen when polled (every {@link
 * LoadRun#POLL_EVERY}, by the poller during the run and by the wait after it), so latencies are
 * measured to that resolution. A block N is proven when the proven height is above N. An accepted
 * transfer the service later calls unknown is lost, not waited for.
 */
final class LoadProofWait {
  /** Status requests in flight at once while checking every accepted transfer at the end. */
  private static final int STATUS_BATCH = 64;

  /**
   * What the wait for proofs saw.
   *
   * @param proven accepted transfers in a proven block
   * @param waitedFor accepted transfers waited for
   * @param lost accepted transfers the service no longer knows
   * @param latenciesMillis the proven ones' latencies in milliseconds, sorted
   * @param lastProvenNanos when the last of them was seen proven (System.nanoTime), or the window's
   *     start when none was
   */
  record Proving(
      int proven, int waitedFor, int lost, List<Long> latenciesMillis, long lastProvenNanos) {}

  private final LoadRun.Settings settings;
  private final AppchainClient client;
  private final LoadTally tally;

  /** Proven height -> when it was first seen (System.nanoTime). */
  private final ConcurrentSkipListMap<Long, Long> provenSeen = new ConcurrentSkipListMap<>();

  private volatile long latestProvenHeight = -1;

  LoadProofWait(LoadRun.Settings settings, AppchainClient client, LoadTally tally) {
    this.settings = settings;
    this.client = client;
    this.tally = tally;
  }

  /** Notes a proven height the chain reported, and when it was first seen. */
  void noteProvenHeight(long provenHeight) {
    latestProvenHeight = Math.max(latestProvenHeight, provenHeight);
    provenSeen.putIfAbsent(provenHeight, System.nanoTime());
  }

  /**
   * Asks every accepted transfer's status until it is in a block, and the chain's proven height
   * until it covers every such block, within {@code --wait-proven}.
   *
   * @param problems gets a line for lost transfers and one for those not proven in time
   * @param startNanos when the window opened (System.nanoTime)
   * @return what the wait saw, or null when an answer outside the contract came (noted in the
   *     tally)
   */
  Proving waitProven(List<String> problems, long startNanos) throws InterruptedException {
    List<LoadPacer.Sent> all = tally.accepted();
    long deadline = System.nanoTime() + settings.waitProven().toNanos();
    List<LoadPacer.Sent> lost = new ArrayList<>();
    Set<LoadPacer.Sent> lostSet = Collections.newSetFromMap(new IdentityHashMap<>());
    while (true) {
      List<LoadPacer.Sent> unplaced = new ArrayList<>();
      for (LoadPacer.Sent sent : all) {
        if (sent.block < 0 && !lostSet.contains(sent)) {
          unplaced.add(sent);
        }
      }
      boolean answered = true;
      try {
        for (int from = 0; from < unplaced.size(); from += STATUS_BATCH) {
          List<LoadPacer.Sent> batch =
              unplaced.subList(from, Math.min(unplaced.size(), from + STATUS_BATCH));
          List<CompletableFuture<AppchainClient.TxStatus>> asks = new ArrayList<>();
          for (LoadPacer.Sent sent : batch) {
            asks.add(client.statusAsync(sent.tx.hash()));
          }
          for (int i = 0; i < batch.size(); i++) {
            AppchainClient.TxStatus status = asks.get(i).get();
            if (!status.known()) {
              lost.add(batch.get(i));
              lostSet.add(batch.get(i));
            } else if (status.block() >= 0) {
              batch.get(i).block = status.block();
            }
          }
        }
        noteProvenHeight(client.chain().provenHeight());
      } catch (ExecutionException e) {
        if (e.getCause() instanceof AppchainClient.AnswerException answer) {
          tally.fail(answer);
          return null;
        }
        answered = false;
      } catch (AppchainClient.UnavailableException e) {
        answered = false;
      }
      int proven = 0;
      for (LoadPacer.Sent sent : all) {
        if (sent.block >= 0 && sent.block < latestProvenHeight) {
          proven++;
        }
      }
      tally.provenSoFar(proven, all.size());
      if (answered && proven + lost.size() == all.size()) {
        break;
      }
      if (System.nanoTime() >= deadline) {
        break;
      }
      Thread.sleep(LoadRun.POLL_EVERY.toMillis());
    }
    List<Long> latencies = new ArrayList<>();
    long lastProven = startNanos;
    int proven = 0;
    for (LoadPacer.Sent sent : all) {
      if (sent.block < 0 || sent.block >= latestProvenHeight) {
        continue;
      }
      proven++;
      Map.Entry<Long, Long> seen = provenSeen.ceilingEntry(sent.block + 1);
      long at = seen == null ? System.nanoTime() : seen.getValue();
      latencies.add(Math.max(0, (at - sent.submittedAtNanos) / 1_000_000));
      lastProven = Math.max(lastProven, at);
    }
    latencies.sort(null);
    if (!lost.isEmpty()) {
      problems.add(
          lost.size()
              + " accepted transfers are unknown to the service (first: "
              + lost.get(0).tx.hash()
              + ")");
    }
    int notProven = all.size() - proven - lost.size();
    if (notProven > 0) {
      problems.add(
          notProven
              + " of "
              + all.size()
              + " accepted transfers not proven within --wait-proven "
              + LoadTally.seconds(settings.waitProven())
              + " (proven height "
              + latestProvenHeight
              + ")");
    }
    return new Proving(proven, all.size(), lost.size(), latencies, lastProven);
  }
}
