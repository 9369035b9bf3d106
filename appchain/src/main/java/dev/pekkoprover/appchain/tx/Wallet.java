package dev.pekkoprover.appchain.tx;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.NamedParameterSpec;
import java.util.HexFormat;

/** An Ed25519 key pair that signs transfers. Never leaves the JVM (it holds a private key). */
public final class Wallet {
  private final KeyPair keys;
  private final String address;

  private Wallet(KeyPair keys) {
    this.keys = keys;
    this.address = Signatures.address(keys.getPublic());
  }

  /**
   * A new key pair drawn from {@code random} (a seeded SHA1PRNG gives the same wallets every time).
   */
  public static Wallet generate(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
      generator.initialize(NamedParameterSpec.ED25519, random);
      return new Wallet(generator.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no Ed25519", e);
    }
  }

  public String address() {
    return address;
  }

  public SignedTransfer sign(Transfer transfer) {
    if (!transfer.from().equals(address)) {
      throw new IllegalArgumentException(
          "wallet " + address + " cannot sign a transfer from " + transfer.from());
    }
    try {
      Signature signer = Signature.getInstance("Ed25519");
      signer.initSign(keys.getPrivate());
      signer.update(transfer.signingBytes());
      return new SignedTransfer(transfer, HexFormat.of().formatHex(signer.sign()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  /** Signs a transfer from this wallet. */
  public SignedTransfer transfer(String to, long amount, long nonce) {
    return sign(new Transfer(address, to, amount, nonce));
  }

  @Override
  public String toString() {
    return "Wallet[" + address + "]";
  }
}
