package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.tx.Admission;
import dev.pekkoprover.appchain.tx.RefusalReason;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Transfer;
import dev.pekkoprover.appchain.tx.Wallet;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Invalid transactions are refused at the mempool with a reason and never reach a block. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MempoolTest {
  private final Wallet alice;
  private final Wallet bob;
  private final Wallet carol;

  MempoolTest() throws Exception {
    SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(ByteBuffer.allocate(8).putLong(42).array());
    alice = Wallet.generate(random);
    bob = Wallet.generate(random);
    carol = Wallet.generate(random);
  }

  private Chain chain() {
    return Chain.create(Map.of(alice.address(), 100L, bob.address(), 50L), TestChains.SETTINGS);
  }

  private static Admission.Refused refused(Admission admission, RefusalReason reason) {
    Admission.Refused refused = assertInstanceOf(Admission.Refused.class, admission);
    assertEquals(reason, refused.reason(), refused.message());
    return refused;
  }

  /**
   * A malformed address is refused naming its field and what is wrong in words, not with the
   * transfer's Java {@code toString}.
   */
  @Test
  void aMalformedAddressIsRefusedNamingItsField() {
    Chain chain = chain();
    SignedTransfer signed = alice.transfer(bob.address(), 5, 0);
    Admission.Refused shortFrom =
        refused(
            chain.submit(
                new SignedTransfer(new Transfer("abc", bob.address(), 5, 0), signed.signature())),
            RefusalReason.MALFORMED);
    assertEquals(
        "'from' is not an address (the sender's raw Ed25519 public key): it is 3 character(s)"
            + " long, an address is 64 hex digits",
        shortFrom.message());
    Admission.Refused notHexTo =
        refused(
            chain.submit(
                new SignedTransfer(
                    new Transfer(alice.address(), "x" + bob.address().substring(1), 5, 0),
                    signed.signature())),
            RefusalReason.MALFORMED);
    assertEquals(
        "'to' is not an address (the recipient's raw Ed25519 public key): character 1 is not a"
            + " hex digit (0-9, a-f), an address is 64 hex digits",
        notHexTo.message());
    // digits of other scripts are no hex digits: refused here, never reaching the hash (which
    // would throw in the chain's actor and restart it)
    Admission.Refused arabicDigits =
        refused(
            chain.submit(
                new SignedTransfer(
                    new Transfer("\u0660".repeat(64), bob.address(), 5, 0), signed.signature())),
            RefusalReason.MALFORMED);
    assertTrue(
        arabicDigits.message().contains("character 1 is not a hex digit"), arabicDigits.message());
  }

  @Test
  void aBadSignatureIsRefused() {
    Chain chain = chain();
    SignedTransfer signed = alice.transfer(bob.address(), 10, 0);
    // bob signs a transfer out of alice's account
    SignedTransfer forged = new SignedTransfer(signed.transfer(), bobSignature(signed.transfer()));
    Admission.Refused refused = refused(chain.submit(forged), RefusalReason.BAD_SIGNATURE);
    assertTrue(
        refused.message().contains("does not verify against sender " + alice.address()),
        refused.message());
    // an altered amount breaks alice's own signature too
    SignedTransfer altered =
        new SignedTransfer(new Transfer(alice.address(), bob.address(), 90, 0), signed.signature());
    refused(chain.submit(altered), RefusalReason.BAD_SIGNATURE);
    assertEquals(0, chain.pendingTransactions());
  }

  private String bobSignature(Transfer transfer) {
    // a valid signature by bob over the same bytes
    return bob.sign(new Transfer(bob.address(), transfer.to(), transfer.amount(), transfer.nonce()))
        .signature();
  }

  @Test
  void aBadNonceIsRefusedAgainstThePendingState() {
    Chain chain = chain();
    Admission.Refused gap =
        refused(chain.submit(alice.transfer(bob.address(), 1, 1)), RefusalReason.BAD_NONCE);
    assertTrue(
        gap.message().contains("nonce 1 is not the sender's next nonce 0 (a gap)"), gap.message());

    assertTrue(chain.submit(alice.transfer(bob.address(), 1, 0)).accepted());
    // the next nonce counts the pending transaction
    assertTrue(chain.submit(alice.transfer(bob.address(), 1, 1)).accepted());
    Admission.Refused replay =
        refused(chain.submit(alice.transfer(bob.address(), 1, 1)), RefusalReason.BAD_NONCE);
    assertTrue(replay.message().contains("(already used)"), replay.message());

    chain.produceBlock(10).orElseThrow();
    // after the block the committed nonce says the same
    refused(chain.submit(alice.transfer(bob.address(), 1, 0)), RefusalReason.BAD_NONCE);
    assertTrue(chain.submit(alice.transfer(bob.address(), 1, 2)).accepted());
  }

  @Test
  void anOverdraftIsRefusedCountingPendingDebitsAndCredits() {
    Chain chain = chain();
    Admission.Refused refused =
        refused(chain.submit(alice.transfer(bob.address(), 101, 0)), RefusalReason.OVERDRAFT);
    assertTrue(
        refused.message().contains("amount 101 exceeds the sender's balance 100"),
        refused.message());

    assertTrue(chain.submit(alice.transfer(bob.address(), 60, 0)).accepted());
    refused(chain.submit(alice.transfer(bob.address(), 41, 1)), RefusalReason.OVERDRAFT);
    // bob can spend what alice's pending transfer gives him
    assertTrue(chain.submit(bob.transfer(carol.address(), 110, 0)).accepted());
    refused(chain.submit(bob.transfer(carol.address(), 1, 1)), RefusalReason.OVERDRAFT);
  }

  @Test
  void aNonPositiveAmountIsRefused() {
    Chain chain = chain();
    refused(chain.submit(alice.transfer(bob.address(), 0, 0)), RefusalReason.INVALID_AMOUNT);
    refused(chain.submit(alice.transfer(bob.address(), -5, 0)), RefusalReason.INVALID_AMOUNT);
  }

  @Test
  void aFullMempoolRefusesMore() {
    Chain chain =
        Chain.create(Map.of(alice.address(), 100L), new AppchainSettings(0, 8, 32, "seed", 2));
    assertTrue(chain.submit(alice.transfer(bob.address(), 1, 0)).accepted());
    assertTrue(chain.submit(alice.transfer(bob.address(), 1, 1)).accepted());
    refused(chain.submit(alice.transfer(bob.address(), 1, 2)), RefusalReason.MEMPOOL_FULL);
  }

  @Test
  void refusedTransactionsNeverReachABlock() {
    Chain chain = chain();
    SignedTransfer good1 = alice.transfer(carol.address(), 30, 0);
    SignedTransfer good2 = bob.transfer(bob.address(), 20, 0); // to oneself: only the nonce moves
    SignedTransfer overdraft = alice.transfer(bob.address(), 71, 1);
    SignedTransfer good3 = alice.transfer(bob.address(), 70, 1);
    for (SignedTransfer tx : List.of(good1, good2, overdraft, good3)) {
      chain.submit(tx);
    }
    assertEquals(3, chain.pendingTransactions());
    BlockTrace block = chain.produceBlock(10).orElseThrow();
    assertEquals(
        List.of(good1.hash(), good2.hash(), good3.hash()),
        block.transactions().stream().map(t -> t.runtime().transaction().hash()).toList());
    assertEquals(new AccountState(0, 2), chain.account(alice.address()));
    assertEquals(new AccountState(120, 1), chain.account(bob.address()));
    assertEquals(new AccountState(30, 0), chain.account(carol.address()));
    assertTrue(chain.produceBlock(10).isEmpty(), "no empty blocks");
  }

  @Test
  void aWorkloadsInvalidTransfersAreRefusedWithTheirExpectedReason() {
    Workload workload = Workload.generate(5, 20, 4, 10, 5);
    Chain chain = Chain.create(workload.genesis(), TestChains.SETTINGS);
    int refusals = 0;
    Set<RefusalReason> kinds = EnumSet.noneOf(RefusalReason.class);
    for (int i = 0; i < workload.transfers().size(); i++) {
      Admission admission = chain.submit(workload.transfers().get(i));
      if (admission instanceof Admission.Refused refused) {
        refusals++;
        kinds.add(refused.reason());
        assertEquals(
            workload.expectedRefusal(i).orElseThrow(() -> new AssertionError(refused.message())),
            refused.reason());
      } else {
        assertTrue(
            workload.expectedRefusal(i).isEmpty(), "transfer " + i + " should have been refused");
      }
    }
    assertEquals(workload.invalidTransfers(), refusals);
    assertEquals(
        EnumSet.of(RefusalReason.BAD_SIGNATURE, RefusalReason.BAD_NONCE, RefusalReason.OVERDRAFT),
        kinds);
    assertEquals(40, chain.pendingTransactions());
  }
}
