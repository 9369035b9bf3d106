package dev.pekkoprover.sequencer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the flows of the sequencer's node see of a result store, without a message: the stored
 * results (a read view of the store's state, confirmed writes only) and the <em>claims</em> on
 * results being computed, so that two flows that push the same task (same type, same input) compute
 * it once.
 *
 * <p>A claim is taken by the first flow that pushes a key nobody holds; a flow that pushes the same
 * key meanwhile waits on the claim. The owner settles it once the result is stored (the waiters get
 * that result) or gives it up when its task failed or its flow ended without it (each waiter then
 * runs the task itself: a failed or cancelled outcome is never handed to anyone).
 *
 * <p>Shared by the store actor, which publishes its state at the end of each recovery, and the
 * flows, which read from any thread: every method is thread-safe.
 */
public final class ResultIndex {

  /** A flow task waiting on another task with the same content key. */
  record Waiter(ActorRef<FlowRunner.Command> flow, long sequence) {}

  /**
   * A result being computed by one flow's task; other flows' tasks with the same key wait on it.
   */
  static final class Claim {
    private List<Waiter> waiters;
    private boolean settled;

    private synchronized boolean addWaiter(Waiter waiter) {
      if (settled) {
        return false;
      }
      if (waiters == null) {
        waiters = new ArrayList<>(2);
      }
      waiters.add(waiter);
      return true;
    }

    private synchronized List<Waiter> close() {
      settled = true;
      List<Waiter> all = waiters == null ? List.of() : waiters;
      waiters = null;
      return all;
    }
  }

  /**
   * What a flow's push found: a stored result, a claim of its own (it runs the task), or another's
   * claim (it waits).
   */
  sealed interface ClaimOutcome {}

  record Found(StoredResult result) implements ClaimOutcome {}

  record Owned(Claim claim) implements ClaimOutcome {}

  enum Waiting implements ClaimOutcome {
    INSTANCE
  }

  private volatile ResultStoreState published;
  private final ConcurrentHashMap<String, Claim> claims = new ConcurrentHashMap<>();

  /** The store's state after a recovery: from now on lookups read it. */
  void publish(ResultStoreState state) {
    this.published = state;
  }

  /** True once the store has recovered at least once. */
  public boolean isReady() {
    return published != null;
  }

  /** The stored result under {@code key}, or null (none, not yet confirmed, or evicted). */
  public StoredResult lookup(String key) {
    ResultStoreState state = published;
    return state == null ? null : state.lookup(key);
  }

  /** Results held now. */
  public int size() {
    ResultStoreState state = published;
    return state == null ? 0 : state.size();
  }

  /** Bytes held now, as counted against {@code max-bytes}. */
  public long bytes() {
    ResultStoreState state = published;
    return state == null ? 0 : state.bytes();
  }

  /** Results evicted since the store last recovered. */
  public long evicted() {
    ResultStoreState state = published;
    return state == null ? 0 : state.evicted();
  }

  /**
   * Called by a flow that pushes {@code key} and found nothing stored: takes the claim on it, or
   * waits on another flow's (that flow then tells {@code flow} a {@link FlowRunner.ClaimSettled}
   * for {@code sequence}), or finds the result stored after all (stored and settled between the
   * lookup and the claim).
   */
  ClaimOutcome claim(String key, ActorRef<FlowRunner.Command> flow, long sequence) {
    Claim mine = null;
    while (true) {
      if (mine == null) {
        mine = new Claim();
      }
      Claim current = claims.putIfAbsent(key, mine);
      if (current == null) {
        StoredResult stored = lookup(key); // settled and released just before we claimed?
        if (stored != null) {
          claims.remove(key, mine);
          mine.close();
          return new Found(stored);
        }
        return new Owned(mine);
      }
      if (current.addWaiter(new Waiter(flow, sequence))) {
        return Waiting.INSTANCE;
      }
      claims.remove(key, current); // settled a moment ago: look again
      StoredResult stored = lookup(key);
      if (stored != null) {
        return new Found(stored);
      }
    }
  }

  /**
   * Ends a claim: the owner's result is stored (the caller tells the waiters the result) or will
   * not be (the caller tells them to run the task themselves). Returns the waiters.
   */
  List<Waiter> settle(String key, Claim claim) {
    List<Waiter> waiters = claim.close();
    claims.remove(key, claim);
    return waiters;
  }

  /** Claims open now: results being computed by some flow. */
  int openClaims() {
    return claims.size();
  }
}
