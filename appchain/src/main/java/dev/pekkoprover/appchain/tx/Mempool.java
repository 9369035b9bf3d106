package dev.pekkoprover.appchain.tx;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.StateTransition;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongFunction;

/**
 * Transactions waiting for a block, first in first out. A transaction is admitted only if it is
 * valid on the state after every transaction already pending, so blocks that take transactions in
 * order never meet an invalid one: an invalid transaction is refused here, with its reason, and
 * never reaches a block.
 *
 * <p>It keeps that pending state as an overlay over the committed state, only for accounts that
 * pending transactions touch, and drops an account's entry when its last pending transaction is
 * taken into a block (the committed state has caught up with it by then). A plain single-threaded
 * class.
 */
public final class Mempool {
  private final Function<String, AccountState> committed;
  private final LongFunction<String> indexOwner;
  private final int capacity;
  private final ArrayDeque<SignedTransfer> queue = new ArrayDeque<>();
  private final Map<String, AccountState> pendingState = new HashMap<>();
  private final Map<String, Integer> pendingTouches = new HashMap<>();

  private Mempool(
      Function<String, AccountState> committed, LongFunction<String> indexOwner, int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("mempool capacity must be at least 1, was " + capacity);
    }
    this.committed = committed;
    this.indexOwner = indexOwner;
    this.capacity = capacity;
  }

  /**
   * @param committed the committed state of an address (the zero account when unknown)
   * @param indexOwner the address that holds a tree index, or null; a new recipient whose index is
   *     taken is refused
   * @param capacity transactions it holds at most
   */
  public static Mempool create(
      Function<String, AccountState> committed, LongFunction<String> indexOwner, int capacity) {
    return new Mempool(committed, indexOwner, capacity);
  }

  /** Admits the transaction, or says why not. */
  public Admission submit(SignedTransfer tx) {
    return submit(tx, true);
  }

  /**
   * Admits the transaction, or says why not; {@code verifySignature} false skips only the Ed25519
   * check (about 0.1 ms each), for a transaction verified when it was first accepted and now
   * replayed from a journal.
   */
  public Admission submit(SignedTransfer tx, boolean verifySignature) {
    Transfer transfer = tx.transfer();
    String malformed = malformed(transfer);
    if (malformed != null) {
      return new Admission.Refused(null, RefusalReason.MALFORMED, malformed);
    }
    String hash = tx.hash();
    if (queue.size() >= capacity) {
      return new Admission.Refused(
          hash,
          RefusalReason.MEMPOOL_FULL,
          "the mempool holds " + capacity + " transactions already");
    }
    String owner = indexOwner.apply(Accounts.index(transfer.to()));
    if (owner != null && !owner.equals(transfer.to())) {
      return new Admission.Refused(
          hash,
          RefusalReason.MALFORMED,
          "recipient " + transfer.to() + " collides with account " + owner + " in the state tree");
    }
    if (verifySignature && !tx.signatureValid()) {
      return new Admission.Refused(
          hash,
          RefusalReason.BAD_SIGNATURE,
          "signature does not verify against sender " + transfer.from());
    }
    List<StateTransition> transitions;
    try {
      transitions = TransferRules.apply(transfer, state(transfer.from()), state(transfer.to()));
    } catch (TransferRules.Rejected e) {
      return new Admission.Refused(hash, e.reason(), e.getMessage());
    }
    for (StateTransition transition : transitions) {
      pendingState.put(transition.address(), transition.to());
    }
    touch(transfer.from(), 1);
    touch(transfer.to(), 1);
    queue.addLast(tx);
    return new Admission.Accepted(hash);
  }

  /**
   * Which field of {@code transfer} is not an address and why, in words, or null when both are
   * addresses.
   */
  private static String malformed(Transfer transfer) {
    if (transfer == null) {
      return "the transaction has no transfer";
    }
    String from = Accounts.addressProblem(transfer.from());
    if (from != null) {
      return "'from' is not an address (the sender's raw Ed25519 public key): " + from;
    }
    String to = Accounts.addressProblem(transfer.to());
    if (to != null) {
      return "'to' is not an address (the recipient's raw Ed25519 public key): " + to;
    }
    return null;
  }

  /** Removes and returns up to {@code max} transactions, oldest first. */
  public List<SignedTransfer> take(int max) {
    List<SignedTransfer> taken = new ArrayList<>(Math.min(max, queue.size()));
    while (taken.size() < max && !queue.isEmpty()) {
      SignedTransfer tx = queue.removeFirst();
      touch(tx.transfer().from(), -1);
      touch(tx.transfer().to(), -1);
      taken.add(tx);
    }
    return taken;
  }

  public int size() {
    return queue.size();
  }

  /** The transactions held, oldest first (a copy). */
  public List<SignedTransfer> pending() {
    return List.copyOf(queue);
  }

  /** The state of an address after every pending transaction. */
  public AccountState state(String address) {
    AccountState pending = pendingState.get(address);
    return pending != null ? pending : committed.apply(address);
  }

  /** Accounts in the overlay: bounded by what pending transactions touch. */
  int overlaySize() {
    return pendingState.size();
  }

  private void touch(String address, int delta) {
    int count = pendingTouches.merge(address, delta, Integer::sum);
    if (count == 0) {
      pendingTouches.remove(address);
      pendingState.remove(address);
    }
  }
}
