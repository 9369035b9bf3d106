package dev.pekkoprover.appchain.tx;

import dev.pekkoprover.appchain.state.Accounts;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.protocol.CborSerializable;
import java.nio.ByteBuffer;

/**
 * A transfer of {@code amount} from {@code from} to {@code to}; {@code nonce} must equal the
 * sender's current nonce, so each transfer runs at most once and in the sender's order. Addresses
 * are raw Ed25519 public keys in hex.
 */
public record Transfer(String from, String to, long amount, long nonce)
    implements CborSerializable {

  private static final byte[] DOMAIN =
      "pekko-prover/transfer/v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** The bytes the sender signs: a domain tag, both addresses, amount and nonce. */
  public byte[] signingBytes() {
    return ByteBuffer.allocate(DOMAIN.length + 2 * Accounts.ADDRESS_BYTES + 16)
        .put(DOMAIN)
        .put(Accounts.addressBytes(from))
        .put(Accounts.addressBytes(to))
        .putLong(amount)
        .putLong(nonce)
        .array();
  }

  /** The transaction hash: what blocks commit to (the signature is not part of it). */
  public String hash() {
    return Sha256.hex(Sha256.hash(Sha256.TRANSACTION, signingBytes()));
  }
}
