package dev.pekkoprover.appchain.tx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.state.AccountState;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mempool's pending-state overlay holds only accounts that pending transactions touch. */
class MempoolOverlayTest {

  @Test
  void theOverlayEmptiesOnceEveryPendingTransactionIsTaken() throws Exception {
    SecureRandom random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(ByteBuffer.allocate(8).putLong(9).array());
    Wallet alice = Wallet.generate(random);
    Wallet bob = Wallet.generate(random);
    Wallet carol = Wallet.generate(random);
    Map<String, AccountState> committed =
        new HashMap<>(Map.of(alice.address(), new AccountState(100, 0)));
    Mempool mempool =
        Mempool.create(a -> committed.getOrDefault(a, AccountState.ZERO), index -> null, 10);

    assertTrue(mempool.submit(alice.transfer(bob.address(), 10, 0)).accepted());
    assertTrue(mempool.submit(bob.transfer(carol.address(), 10, 0)).accepted());
    assertTrue(mempool.submit(alice.transfer(carol.address(), 5, 1)).accepted());
    assertEquals(3, mempool.overlaySize());
    assertEquals(new AccountState(85, 2), mempool.state(alice.address()));

    // the first block takes the first transaction: alice and carol still have one pending, bob too
    List<SignedTransfer> first = mempool.take(1);
    committed.put(alice.address(), new AccountState(90, 1));
    committed.put(bob.address(), new AccountState(10, 0));
    assertEquals(1, first.size());
    assertEquals(3, mempool.overlaySize());

    mempool.take(10);
    assertEquals(0, mempool.overlaySize());
    assertEquals(0, mempool.size());
  }
}
