package dev.pekkoprover.appchain.state;

import dev.pekkoprover.protocol.CborSerializable;
import java.security.MessageDigest;

/**
 * An account's leaf value: balance and the nonce its next transaction must carry. The zero account
 * (balance 0, nonce 0) is the empty leaf, so an account that never received anything needs no entry
 * in the tree.
 */
public record AccountState(long balance, long nonce) implements CborSerializable {
  public static final AccountState ZERO = new AccountState(0, 0);

  public AccountState {
    if (balance < 0 || nonce < 0) {
      throw new IllegalArgumentException(
          "balance and nonce are never negative: " + balance + ", " + nonce);
    }
  }

  /**
   * The leaf hash of this state under {@code address}: all zero for the zero account, else bound to
   * the address.
   */
  public byte[] leafHash(String address) {
    if (balance == 0 && nonce == 0) {
      return SparseMerkleTree.emptyLeaf();
    }
    MessageDigest digest = Sha256.digest();
    digest.update(Sha256.LEAF);
    digest.update(Accounts.addressBytes(address));
    Sha256.updateLong(digest, balance);
    Sha256.updateLong(digest, nonce);
    return digest.digest();
  }

  @Override
  public String toString() {
    return "balance " + balance + " nonce " + nonce;
  }
}
