package dev.pekkoprover.appchain;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.nio.ByteBuffer;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * A seeded, reproducible stream of signed transfers for the chain: wallets, genesis balances, and
 * transfers in submission order. Exactly {@code blocks * txPerBlock} of them are valid when
 * submitted in order, so they fill that many full blocks; every {@code invalidEvery}-th one is
 * invalid (bad signature, bad nonce or overdraft, in turn) and must be refused by the mempool.
 * About one wallet in ten starts unfunded, so some transfers create accounts (empty leaves).
 */
public final class Workload {
  /** By default one transfer in 20 is invalid. */
  public static final int DEFAULT_INVALID_EVERY = 20;

  /** Each funded wallet's genesis balance: large enough that valid transfers never run dry. */
  public static final long GENESIS_BALANCE = 1_000_000_000L;

  private static final RefusalReason[] INVALID_KINDS = {
    RefusalReason.BAD_SIGNATURE, RefusalReason.BAD_NONCE, RefusalReason.OVERDRAFT
  };

  private final List<Wallet> wallets;
  private final Map<String, Long> genesis;
  private final List<SignedTransfer> transfers;
  private final Map<Integer, RefusalReason> invalid;

  private Workload(
      List<Wallet> wallets,
      Map<String, Long> genesis,
      List<SignedTransfer> transfers,
      Map<Integer, RefusalReason> invalid) {
    this.wallets = List.copyOf(wallets);
    this.genesis = Collections.unmodifiableMap(genesis);
    this.transfers = List.copyOf(transfers);
    this.invalid = Map.copyOf(invalid);
  }

  /** A workload with {@link #DEFAULT_INVALID_EVERY}. */
  public static Workload generate(long seed, int accounts, int blocks, int txPerBlock) {
    return generate(seed, accounts, blocks, txPerBlock, DEFAULT_INVALID_EVERY);
  }

  /**
   * @param accounts wallets (at least 2)
   * @param blocks, txPerBlock the valid transfers number {@code blocks * txPerBlock}
   * @param invalidEvery every n-th transfer is invalid; 0 for none
   */
  public static Workload generate(
      long seed, int accounts, int blocks, int txPerBlock, int invalidEvery) {
    if (accounts < 2 || blocks < 0 || txPerBlock < 1 || invalidEvery < 0 || invalidEvery == 1) {
      throw new IllegalArgumentException(
          "a workload needs at least 2 accounts, blocks >= 0, txPerBlock >= 1 and invalidEvery 0 or >= 2; got "
              + accounts
              + ", "
              + blocks
              + ", "
              + txPerBlock
              + ", "
              + invalidEvery);
    }
    SecureRandom keyRandom = seededKeyRandom(seed);
    Random random = new Random(seed);
    List<Wallet> wallets = new ArrayList<>(accounts);
    Map<String, Long> genesis = new LinkedHashMap<>();
    Map<String, AccountState> state = new HashMap<>();
    int funded = Math.max(1, accounts - accounts / 10);
    for (int i = 0; i < accounts; i++) {
      Wallet wallet = Wallet.generate(keyRandom);
      wallets.add(wallet);
      if (i < funded) {
        genesis.put(wallet.address(), GENESIS_BALANCE);
        state.put(wallet.address(), new AccountState(GENESIS_BALANCE, 0));
      }
    }

    int valid = blocks * txPerBlock;
    List<SignedTransfer> transfers = new ArrayList<>();
    Map<Integer, RefusalReason> invalid = new HashMap<>();
    int invalidMade = 0;
    for (int made = 0; made < valid; ) {
      Wallet sender = pickSender(wallets, state, random);
      AccountState from = state.get(sender.address());
      if (invalidEvery > 0 && (transfers.size() + 1) % invalidEvery == 0) {
        RefusalReason kind = INVALID_KINDS[invalidMade++ % INVALID_KINDS.length];
        invalid.put(transfers.size(), kind);
        transfers.add(invalidTransfer(kind, sender, from, wallets, random));
        continue;
      }
      Wallet recipient = wallets.get(random.nextInt(wallets.size()));
      long amount = 1 + random.nextInt((int) Math.min(1000, from.balance()));
      transfers.add(sender.transfer(recipient.address(), amount, from.nonce()));
      state.put(sender.address(), new AccountState(from.balance() - amount, from.nonce() + 1));
      AccountState to = state.getOrDefault(recipient.address(), AccountState.ZERO);
      state.put(recipient.address(), new AccountState(to.balance() + amount, to.nonce()));
      made++;
    }
    return new Workload(wallets, genesis, transfers, invalid);
  }

  private static Wallet pickSender(
      List<Wallet> wallets, Map<String, AccountState> state, Random random) {
    while (true) {
      Wallet wallet = wallets.get(random.nextInt(wallets.size()));
      AccountState account = state.get(wallet.address());
      if (account != null && account.balance() > 0) {
        return wallet;
      }
    }
  }

  private static SignedTransfer invalidTransfer(
      RefusalReason kind, Wallet sender, AccountState from, List<Wallet> wallets, Random random) {
    String to = wallets.get(random.nextInt(wallets.size())).address();
    switch (kind) {
      case BAD_SIGNATURE -> {
        SignedTransfer signed = sender.transfer(to, 1, from.nonce());
        char[] signature = signed.signature().toCharArray();
        signature[0] = signature[0] == '0' ? '1' : '0';
        return new SignedTransfer(signed.transfer(), new String(signature));
      }
      case BAD_NONCE -> {
        long nonce =
            from.nonce() > 0 && random.nextBoolean()
                ? from.nonce() - 1
                : from.nonce() + 1 + random.nextInt(3);
        return sender.transfer(to, 1, nonce);
      }
      case OVERDRAFT -> {
        return sender.transfer(to, from.balance() + 1, from.nonce());
      }
      default -> throw new IllegalArgumentException("no invalid transfer of kind " + kind);
    }
  }

  /**
   * A SHA1PRNG seeded before first use: deterministic, so one seed gives the same wallets every
   * time.
   */
  private static SecureRandom seededKeyRandom(long seed) {
    try {
      SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
      random.setSeed(ByteBuffer.allocate(Long.BYTES).putLong(seed).array());
      return random;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA1PRNG", e);
    }
  }

  public List<Wallet> wallets() {
    return wallets;
  }

  /** Address -> genesis balance, for {@link Chain#create}. */
  public Map<String, Long> genesis() {
    return genesis;
  }

  /** Every transfer, in the order to submit them. */
  public List<SignedTransfer> transfers() {
    return transfers;
  }

  /** The reason the mempool must refuse transfer {@code index}; empty for a valid one. */
  public Optional<RefusalReason> expectedRefusal(int index) {
    return Optional.ofNullable(invalid.get(index));
  }

  public int invalidTransfers() {
    return invalid.size();
  }

  public int validTransfers() {
    return transfers.size() - invalid.size();
  }

  /** Submits every transfer to {@code chain} in order; returns how many were accepted. */
  public int submitAll(Chain chain) {
    int accepted = 0;
    for (SignedTransfer transfer : transfers) {
      if (chain.submit(transfer).accepted()) {
        accepted++;
      }
    }
    return accepted;
  }
}
