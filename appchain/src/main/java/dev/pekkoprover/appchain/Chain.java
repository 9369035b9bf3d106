package dev.pekkoprover.appchain;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.MerkleWitness;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.state.SparseMerkleTree;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.appchain.trace.BlockHeader;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.RuntimeInput;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TracedTransition;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.appchain.tx.Admission;
import dev.pekkoprover.appchain.tx.Mempool;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.TransferRules;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The sequencer's side of the appchain: the committed state (accounts in a sparse Merkle tree), the
 * mempool, and block production. {@link #produceBlock} executes the oldest pending transactions
 * directly, which gives the state root and block hash every proof must reproduce, and traces them
 * into proving work (a {@link BlockTrace}).
 *
 * <p>Blocks are never empty: with nothing pending, no block is produced. A plain single-threaded
 * class.
 */
public final class Chain {
  private final AppchainSettings settings;
  private final SparseMerkleTree tree = SparseMerkleTree.create();
  private final Map<String, AccountState> accounts = new HashMap<>();
  private final Map<Long, String> indexOwners = new HashMap<>();
  private final Mempool mempool;
  private final String genesisStateRoot;
  private long nextBlockNumber;
  private String lastBlockHash = Sha256.ZERO_HEX;

  private Chain(Map<String, Long> genesisBalances, AppchainSettings settings) {
    this.settings = settings;
    for (Map.Entry<String, Long> entry : genesisBalances.entrySet()) {
      String address = entry.getKey();
      long balance = entry.getValue();
      claimIndex(address);
      AccountState state = new AccountState(balance, 0);
      accounts.put(address, state);
      tree.set(Accounts.index(address), state.leafHash(address));
    }
    this.genesisStateRoot = tree.root();
    this.mempool = Mempool.create(this::account, indexOwners::get, settings.mempoolCapacity());
  }

  /**
   * @param genesisBalances address (hex raw Ed25519 public key) -> starting balance
   * @throws IllegalArgumentException on a malformed address or two addresses at one tree position
   */
  public static Chain create(Map<String, Long> genesisBalances, AppchainSettings settings) {
    return new Chain(genesisBalances, settings);
  }

  /**
   * A chain as it was after block {@code height - 1}, from a copy of its committed state (what a
   * snapshot holds); its mempool is empty. The genesis gives the genesis root, which a restored
   * chain reports as before.
   *
   * @param genesisBalances the genesis the chain started from
   * @param accounts every account the chain held at that height (the zero account may be left out:
   *     it is the empty leaf)
   * @param height blocks produced up to then (the next block's number)
   * @param lastBlockHash the hash of block {@code height - 1}; all zero for height 0
   * @throws IllegalArgumentException on a malformed address, two addresses at one tree position or
   *     a negative height
   */
  public static Chain restore(
      Map<String, Long> genesisBalances,
      AppchainSettings settings,
      Map<String, AccountState> accounts,
      long height,
      String lastBlockHash) {
    if (height < 0) {
      throw new IllegalArgumentException("a chain's height is never negative, was " + height);
    }
    Chain chain = new Chain(genesisBalances, settings);
    for (Map.Entry<String, AccountState> entry : accounts.entrySet()) {
      String address = entry.getKey();
      chain.claimIndex(address);
      chain.accounts.put(address, entry.getValue());
      chain.tree.set(Accounts.index(address), entry.getValue().leafHash(address));
    }
    chain.nextBlockNumber = height;
    chain.lastBlockHash = Sha256.hex(Sha256.unhex(lastBlockHash, "last block hash"));
    return chain;
  }

  /**
   * Offers a transaction to the mempool: accepted, or refused with a reason (it then never reaches
   * a block).
   */
  public Admission submit(SignedTransfer transaction) {
    return admit(transaction, true);
  }

  /**
   * {@link #submit}, with {@code verifySignature} false for a transaction whose signature the
   * caller verified already (the check costs about a millisecond with the JDK's Ed25519: a service
   * does it on its request threads, not on the one that holds the chain).
   */
  public Admission submit(SignedTransfer transaction, boolean verifySignature) {
    return admit(transaction, verifySignature);
  }

  /**
   * Admits a transaction accepted before, from a journal, in its order: the rules are checked again
   * but not the signature (checked when it was first accepted).
   *
   * @throws IllegalStateException when the mempool refuses it: the journal does not belong to this
   *     chain (another genesis), or its order was lost
   */
  public void readmit(SignedTransfer transaction) {
    Admission admission = admit(transaction, false);
    if (admission instanceof Admission.Refused refused) {
      throw new IllegalStateException(
          "transaction "
              + refused.txHash()
              + " from the journal is refused on replay ("
              + refused.reason()
              + ": "
              + refused.message()
              + "): the journal belongs to another chain");
    }
  }

  private Admission admit(SignedTransfer transaction, boolean verifySignature) {
    Admission admission = mempool.submit(transaction, verifySignature);
    if (admission.accepted()) {
      indexOwners.putIfAbsent(
          Accounts.index(transaction.transfer().to()), transaction.transfer().to());
    }
    return admission;
  }

  /**
   * The state of an address after every pending transaction: its {@code nonce} is the one the
   * sender's next transaction must carry.
   */
  public AccountState pendingAccount(String address) {
    return mempool.state(address);
  }

  public int pendingTransactions() {
    return mempool.size();
  }

  /** The pending transactions, oldest first: the order blocks take them in. */
  public List<SignedTransfer> pending() {
    return mempool.pending();
  }

  /** {@link #produceBlock(int)} with the configured {@code max-block-transactions}. */
  public Optional<BlockTrace> produceBlock() {
    return produceBlock(settings.maxBlockTransactions());
  }

  /**
   * Takes up to {@code maxTransactions} pending transactions, oldest first, executes them on the
   * committed state and returns the block's trace; empty when nothing is pending.
   */
  public Optional<BlockTrace> produceBlock(int maxTransactions) {
    if (maxTransactions < 1) {
      throw new IllegalArgumentException(
          "a block takes at least one transaction, asked for " + maxTransactions);
    }
    List<SignedTransfer> taken = mempool.take(maxTransactions);
    if (taken.isEmpty()) {
      return Optional.empty();
    }
    long number = nextBlockNumber;
    String rootBefore = tree.root();
    int batchSize = settings.transitionsPerTask();
    List<TransactionTrace> transactions = new ArrayList<>(taken.size());
    List<StateTransitionBatch> batches = new ArrayList<>();
    List<TracedTransition> batch = new ArrayList<>(batchSize);
    String batchRoot = rootBefore;
    String batchCommitment = Sha256.ZERO_HEX;
    int transitionCount = 0;
    byte[] transactionCommitment = new byte[Sha256.LENGTH];
    byte[] transitionCommitment = new byte[Sha256.LENGTH];

    for (int i = 0; i < taken.size(); i++) {
      SignedTransfer tx = taken.get(i);
      AccountState sender = account(tx.transfer().from());
      AccountState recipient = account(tx.transfer().to());
      List<StateTransition> transitions;
      try {
        transitions = TransferRules.apply(tx.transfer(), sender, recipient);
      } catch (TransferRules.Rejected e) {
        throw new IllegalStateException(
            "the mempool admitted transaction "
                + tx.hash()
                + " that cannot run in block "
                + number
                + ": "
                + e.getMessage());
      }
      transactions.add(
          new TransactionTrace(
              new RuntimeInput(number, i, tx, sender, recipient),
              transitions,
              Sha256.hex(transactionCommitment),
              Sha256.hex(transitionCommitment)));
      for (StateTransition transition : transitions) {
        if (batch.size() == batchSize) {
          batches.add(
              new StateTransitionBatch(
                  number, transitionCount - batch.size(), batchRoot, batchCommitment, batch));
          batch = new ArrayList<>(batchSize);
          batchRoot = tree.root();
          batchCommitment = Sha256.hex(transitionCommitment);
        }
        batch.add(new TracedTransition(transition, apply(transition)));
        transitionCommitment = StateTransition.commit(transitionCommitment, transition);
        transitionCount++;
      }
      transactionCommitment =
          Sha256.hash(Sha256.TRANSACTION_CHAIN, transactionCommitment, Sha256.unhex(tx.hash()));
    }
    batches.add(
        new StateTransitionBatch(
            number, transitionCount - batch.size(), batchRoot, batchCommitment, batch));

    BlockHeader header =
        new BlockHeader(
            number,
            lastBlockHash,
            rootBefore,
            tree.root(),
            taken.size(),
            Sha256.hex(transactionCommitment),
            Sha256.hex(transitionCommitment));
    lastBlockHash = header.blockHash();
    nextBlockNumber++;
    return Optional.of(new BlockTrace(header, transactions, batches));
  }

  /** Applies one transition to the committed state; returns its leaf's witness from just before. */
  private MerkleWitness apply(StateTransition transition) {
    String address = transition.address();
    long index = Accounts.index(address);
    MerkleWitness witness = tree.witness(index);
    tree.set(index, transition.to().leafHash(address));
    accounts.put(address, transition.to());
    return witness;
  }

  /** The committed state of an address (the zero account when it has none). */
  public AccountState account(String address) {
    return accounts.getOrDefault(address, AccountState.ZERO);
  }

  /** The committed accounts (those ever touched), for checks. */
  public Map<String, AccountState> accounts() {
    return Collections.unmodifiableMap(accounts);
  }

  /** The state root after the last produced block: what the last block's proof must end with. */
  public String stateRoot() {
    return tree.root();
  }

  public String genesisStateRoot() {
    return genesisStateRoot;
  }

  /** The hash of the last produced block; all zero before the first. */
  public String lastBlockHash() {
    return lastBlockHash;
  }

  /** Blocks produced so far (the next block's number). */
  public long height() {
    return nextBlockNumber;
  }

  private void claimIndex(String address) {
    long index = Accounts.index(address);
    String owner = indexOwners.putIfAbsent(index, address);
    if (owner != null && !owner.equals(address)) {
      throw new IllegalArgumentException(
          "accounts " + owner + " and " + address + " share a state tree position");
    }
  }
}
