package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.appchain.tx.Admission;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.CborSerializable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The appchain service's state: the chain (committed state and mempool), which block each recent
 * transaction went into, the blocks not yet proven with their traces, the sealed batches waiting
 * for their proofs, and the proven height. {@link ChainService} changes it as commands come (live)
 * and as events replay (recovery); both paths go through the same methods, so a replay rebuilds
 * exactly what the live service had. A plain single-threaded class.
 *
 * <p>Memory: the chain's accounts, the mempool (bounded by {@code mempool-capacity}), the traces of
 * unproven blocks (released when their batch is proven) and the status of the last {@code
 * txIndexSize} accepted transactions.
 */
final class ChainState {
  /** A transaction accepted and not in a block yet. */
  private static final long PENDING = -1;

  /** A sealed batch: blocks {@code first..last}, inclusive. */
  record Batch(long first, long last) implements CborSerializable {
    int blocks() {
      return (int) (last - first + 1);
    }
  }

  /** A transaction's status: {@code pending}, {@code in-block} or {@code proven}, or unknown. */
  record TxStatus(String hash, String status, Long block) implements CborSerializable {}

  private final Chain chain;
  private final Map<String, Long> txBlocks;
  private final TreeMap<Long, BlockTrace> unproven = new TreeMap<>();
  private final TreeMap<Long, Batch> sealed = new TreeMap<>();
  private final TreeMap<Long, ChainEvent.BatchProven> provenAhead = new TreeMap<>();
  private long sealedUpTo;
  private long provenHeight;
  private ChainEvent.BatchProven lastBatch;
  private long accepted;

  /**
   * @param genesis address -> balance of the genesis state
   * @param txIndexSize how many of the latest accepted transactions keep a status (older ones are
   *     answered "unknown")
   */
  ChainState(Map<String, Long> genesis, AppchainSettings settings, int txIndexSize) {
    this(Chain.create(genesis, settings), txIndexSize);
  }

  private ChainState(Chain chain, int txIndexSize) {
    this.chain = chain;
    this.txBlocks =
        new LinkedHashMap<>() {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > txIndexSize;
          }
        };
  }

  /** Offers a new transaction to the mempool, its signature checked. */
  Admission submit(SignedTransfer transaction) {
    return submit(transaction, true);
  }

  /**
   * Offers a new transaction to the mempool; {@code verifySignature} false when the caller verified
   * it already.
   */
  Admission submit(SignedTransfer transaction, boolean verifySignature) {
    Admission admission = chain.submit(transaction, verifySignature);
    if (admission.accepted()) {
      txBlocks.put(transaction.hash(), PENDING);
      accepted++;
    }
    return admission;
  }

  /**
   * The status of {@code transaction} when it was accepted before (the same hash, so the same
   * transfer; its signature is not compared) and is still in the transaction index; null when it is
   * new, malformed, or older than the index.
   */
  TxStatus acceptedBefore(SignedTransfer transaction) {
    if (transaction.transfer() == null
        || !Accounts.isAddress(transaction.transfer().from())
        || !Accounts.isAddress(transaction.transfer().to())) {
      return null;
    }
    String hash = transaction.hash();
    return txBlocks.containsKey(hash) ? status(hash) : null;
  }

  /** Replays {@link ChainEvent.TransactionsAccepted}. */
  void readmit(List<SignedTransfer> transactions) {
    for (SignedTransfer transaction : transactions) {
      chain.readmit(transaction);
      txBlocks.put(transaction.hash(), PENDING);
      accepted++;
    }
  }

  /** Produces the next block of at most {@code maxTransactions} pending ones; empty when none. */
  Optional<ChainEvent.BlockProduced> produceBlock(int maxTransactions) {
    Optional<BlockTrace> block = chain.produceBlock(maxTransactions);
    block.ifPresent(this::record);
    return block.map(
        trace ->
            new ChainEvent.BlockProduced(
                trace.number(), trace.transactions().size(), trace.blockHash()));
  }

  /**
   * Replays {@link ChainEvent.BlockProduced}.
   *
   * @throws IllegalStateException when the rebuilt block is not the journaled one
   */
  void replay(ChainEvent.BlockProduced event) {
    Optional<BlockTrace> block = chain.produceBlock(event.transactions());
    if (block.isEmpty()
        || block.get().number() != event.number()
        || block.get().transactions().size() != event.transactions()
        || !block.get().blockHash().equals(event.blockHash())) {
      throw new IllegalStateException(
          "block "
              + event.number()
              + " rebuilt from the journal differs from the journaled one ("
              + event.blockHash()
              + "): the journal belongs to another chain");
    }
    record(block.get());
  }

  private void record(BlockTrace trace) {
    for (TransactionTrace transaction : trace.transactions()) {
      txBlocks.replace(transaction.runtime().transaction().hash(), trace.number());
    }
    unproven.put(trace.number(), trace);
  }

  /** Blocks produced and not in a batch yet. */
  int unsealedBlocks() {
    return (int) (chain.height() - sealedUpTo);
  }

  /**
   * The next batch to seal: {@code blocksPerBatch} blocks when that many wait, or, with {@code
   * partial}, whatever waits; empty otherwise.
   */
  Optional<ChainEvent.BatchSealed> nextBatch(int blocksPerBatch, boolean partial) {
    int waiting = unsealedBlocks();
    if (waiting == 0 || (waiting < blocksPerBatch && !partial)) {
      return Optional.empty();
    }
    long last = sealedUpTo + Math.min(waiting, blocksPerBatch) - 1;
    return Optional.of(new ChainEvent.BatchSealed(sealedUpTo, last));
  }

  /** Live and replayed. */
  Batch seal(ChainEvent.BatchSealed event) {
    if (event.firstBlock() != sealedUpTo || event.lastBlock() >= chain.height()) {
      throw new IllegalStateException(
          "batch of blocks "
              + event.firstBlock()
              + "-"
              + event.lastBlock()
              + " does not follow block "
              + (sealedUpTo - 1)
              + " (height "
              + chain.height()
              + ")");
    }
    Batch batch = new Batch(event.firstBlock(), event.lastBlock());
    sealed.put(batch.first(), batch);
    sealedUpTo = batch.last() + 1;
    return batch;
  }

  /** The traces of a sealed batch's blocks, in order. */
  List<BlockTrace> traces(Batch batch) {
    return new ArrayList<>(unproven.subMap(batch.first(), true, batch.last(), true).values());
  }

  /** The sealed batches waiting for a proof, oldest first. */
  List<Batch> sealedBatches() {
    return new ArrayList<>(sealed.values());
  }

  /** Whether {@code batch} is sealed and not proven yet. */
  boolean awaitsProof(Batch batch) {
    return batch.equals(sealed.get(batch.first()));
  }

  /**
   * What the proof of {@code batch} must show, as the event that records it: the roots the
   * sequencer computed directly.
   */
  ChainEvent.BatchProven expectedProof(Batch batch) {
    BlockTrace first = unproven.get(batch.first());
    BlockTrace last = unproven.get(batch.last());
    return new ChainEvent.BatchProven(
        batch.first(),
        batch.last(),
        first.header().stateRootBefore(),
        last.stateRootAfter(),
        last.blockHash());
  }

  /**
   * Live and replayed: the batch is proven; the proven height moves over every batch proven without
   * a gap, and their traces are released.
   */
  void proven(ChainEvent.BatchProven event) {
    sealed.remove(event.firstBlock());
    provenAhead.put(event.firstBlock(), event);
    for (ChainEvent.BatchProven next = provenAhead.remove(provenHeight);
        next != null;
        next = provenAhead.remove(provenHeight)) {
      lastBatch = next;
      provenHeight = next.lastBlock() + 1;
    }
    unproven.headMap(provenHeight).clear();
  }

  /**
   * A snapshot of this state ({@link ChainSnapshot}), leaving out the {@code unwritten} newest
   * accepted transactions: those the service has not journaled yet (they are pending, the last to
   * be accepted). The chain's accounts at the proven height come from the current ones with every
   * unproven block's transitions undone, newest first.
   */
  ChainSnapshot snapshot(int unwritten) {
    Map<String, AccountState> atBase = new HashMap<>(chain.accounts());
    List<ChainEvent.BlockProduced> blocks = new ArrayList<>(unproven.size());
    List<SignedTransfer> transactions = new ArrayList<>();
    for (BlockTrace trace : unproven.descendingMap().values()) {
      List<TransactionTrace> traced = trace.transactions();
      for (int t = traced.size() - 1; t >= 0; t--) {
        List<StateTransition> transitions = traced.get(t).transitions();
        for (int i = transitions.size() - 1; i >= 0; i--) {
          atBase.put(transitions.get(i).address(), transitions.get(i).from());
        }
      }
    }
    for (BlockTrace trace : unproven.values()) {
      blocks.add(
          new ChainEvent.BlockProduced(
              trace.number(), trace.transactions().size(), trace.blockHash()));
      trace.transactions().forEach(t -> transactions.add(t.runtime().transaction()));
    }
    List<SignedTransfer> pending = chain.pending();
    transactions.addAll(pending.subList(0, pending.size() - unwritten));
    List<ChainSnapshot.Account> accounts = new ArrayList<>(atBase.size());
    atBase.forEach(
        (address, state) -> {
          if (!state.equals(AccountState.ZERO)) {
            accounts.add(new ChainSnapshot.Account(address, state.balance(), state.nonce()));
          }
        });
    List<ChainEvent.BatchSealed> batches = new ArrayList<>();
    TreeMap<Long, Long> lastOfBatch = new TreeMap<>();
    sealed.values().forEach(batch -> lastOfBatch.put(batch.first(), batch.last()));
    provenAhead.values().forEach(proof -> lastOfBatch.put(proof.firstBlock(), proof.lastBlock()));
    lastOfBatch.forEach((first, last) -> batches.add(new ChainEvent.BatchSealed(first, last)));
    int indexed = Math.max(0, txBlocks.size() - unwritten); // an index smaller than a write
    ByteBuffer hashes = ByteBuffer.allocate(indexed * Sha256.LENGTH);
    long[] indexBlocks = new long[indexed];
    int i = 0;
    for (Map.Entry<String, Long> entry : txBlocks.entrySet()) {
      if (i == indexed) {
        break;
      }
      hashes.put(Sha256.unhex(entry.getKey(), "transaction hash"));
      indexBlocks[i++] = entry.getValue();
    }
    BlockTrace firstUnproven = unproven.isEmpty() ? null : unproven.firstEntry().getValue();
    return new ChainSnapshot(
        chain.genesisStateRoot(),
        provenHeight,
        firstUnproven == null ? chain.lastBlockHash() : firstUnproven.header().prevBlockHash(),
        firstUnproven == null ? chain.stateRoot() : firstUnproven.header().stateRootBefore(),
        accounts,
        blocks,
        transactions,
        batches,
        List.copyOf(provenAhead.values()),
        lastBatch,
        accepted - unwritten,
        hashes.array(),
        indexBlocks);
  }

  /**
   * The state a snapshot was taken of: the chain at the snapshot's base, its unproven blocks
   * executed again from their transactions, its pending transactions admitted again (signatures not
   * checked: they were when first accepted), its batches and transaction index as they were.
   *
   * @throws IllegalStateException when the snapshot belongs to another chain (another genesis), its
   *     accounts do not give its state root, a block executed again differs from the one it names,
   *     or the mempool refuses a transaction again (its capacity lowered since): the snapshot
   *     cannot be used; the service says so in one ERROR line and tries again with backoff
   */
  static ChainState restore(
      ChainSnapshot snapshot, Map<String, Long> genesis, AppchainSettings settings, int indexSize) {
    Map<String, AccountState> accounts = new HashMap<>();
    for (ChainSnapshot.Account account : snapshot.accounts()) {
      accounts.put(account.address(), new AccountState(account.balance(), account.nonce()));
    }
    Chain chain =
        Chain.restore(genesis, settings, accounts, snapshot.baseHeight(), snapshot.baseBlockHash());
    if (!chain.genesisStateRoot().equals(snapshot.genesisStateRoot())) {
      throw new IllegalStateException(
          "the snapshot is of a chain with genesis root "
              + snapshot.genesisStateRoot()
              + ", this one's is "
              + chain.genesisStateRoot()
              + ": the journal belongs to another chain");
    }
    if (!chain.stateRoot().equals(snapshot.baseStateRoot())) {
      throw new IllegalStateException(
          "the snapshot's accounts give state root "
              + chain.stateRoot()
              + " at block "
              + snapshot.baseHeight()
              + ", not its recorded "
              + snapshot.baseStateRoot());
    }
    ChainState state = new ChainState(chain, indexSize);
    state.provenHeight = snapshot.baseHeight();
    state.sealedUpTo = snapshot.baseHeight();
    List<SignedTransfer> transactions = snapshot.transactions();
    int next = 0;
    for (ChainEvent.BlockProduced block : snapshot.blocks()) {
      state.readmit(transactions.subList(next, next + block.transactions()));
      state.replay(block);
      next += block.transactions();
    }
    state.readmit(transactions.subList(next, transactions.size()));
    snapshot.batches().forEach(state::seal);
    snapshot.provenAhead().forEach(state::proven);
    state.lastBatch = snapshot.lastBatch();
    state.accepted = snapshot.accepted();
    state.txBlocks.clear();
    byte[] hash = new byte[Sha256.LENGTH];
    ByteBuffer hashes = ByteBuffer.wrap(snapshot.indexHashes());
    for (long block : snapshot.indexBlocks()) {
      hashes.get(hash);
      state.txBlocks.put(Sha256.hex(hash), block);
    }
    return state;
  }

  /** What {@code GET /appchain/chain} answers. */
  record View(
      long height,
      long provenHeight,
      int pending,
      long accepted,
      String stateRoot,
      String lastBlockHash,
      String genesisStateRoot,
      ChainEvent.BatchProven lastBatch,
      int batchesProving,
      long unproven)
      implements CborSerializable {}

  View view() {
    return new View(
        height(),
        provenHeight,
        pending(),
        accepted,
        stateRoot(),
        lastBlockHash(),
        genesisStateRoot(),
        lastBatch,
        sealed.size(),
        unprovenTransactions());
  }

  /** Transactions accepted and not in a block below the proven height: pending or in-block. */
  long unprovenTransactions() {
    long inBlocks = 0;
    for (BlockTrace trace : unproven.tailMap(provenHeight).values()) {
      inBlocks += trace.transactions().size();
    }
    return pending() + inBlocks;
  }

  TxStatus status(String hash) {
    Long block = txBlocks.get(hash);
    if (block == null) {
      return new TxStatus(hash, "unknown", null);
    }
    if (block == PENDING) {
      return new TxStatus(hash, "pending", null);
    }
    return new TxStatus(hash, block < provenHeight ? "proven" : "in-block", block);
  }

  /** The committed state of an address, and the nonce its next transaction must carry. */
  AccountState account(String address) {
    return chain.account(address);
  }

  long pendingNonce(String address) {
    return chain.pendingAccount(address).nonce();
  }

  long height() {
    return chain.height();
  }

  long provenHeight() {
    return provenHeight;
  }

  /** The last batch proof's public outputs, or null before the first. */
  ChainEvent.BatchProven lastBatch() {
    return lastBatch;
  }

  int pending() {
    return chain.pendingTransactions();
  }

  long accepted() {
    return accepted;
  }

  String stateRoot() {
    return chain.stateRoot();
  }

  String lastBlockHash() {
    return chain.lastBlockHash();
  }

  String genesisStateRoot() {
    return chain.genesisStateRoot();
  }

  /**
   * What differs between a batch proof's public outputs and the roots the sequencer computed
   * directly ({@code expected}), or null when they agree.
   */
  static String mismatch(BatchProof proof, ChainEvent.BatchProven expected) {
    if (proof.firstBlock() != expected.firstBlock()
        || proof.lastBlock() != expected.lastBlock()
        || !proof.stateRootBefore().equals(expected.stateRootBefore())
        || !proof.stateRoot().equals(expected.stateRoot())
        || !proof.lastBlockHash().equals(expected.lastBlockHash())) {
      return String.format(
          "the proof's outputs (blocks %d-%d, state root %s -> %s, last block %s) differ from the "
              + "sequencer's (blocks %d-%d, %s -> %s, %s)",
          proof.firstBlock(),
          proof.lastBlock(),
          proof.stateRootBefore(),
          proof.stateRoot(),
          proof.lastBlockHash(),
          expected.firstBlock(),
          expected.lastBlock(),
          expected.stateRootBefore(),
          expected.stateRoot(),
          expected.lastBlockHash());
    }
    return null;
  }
}
