package dev.pekkoprover.appchain.tx;

import dev.pekkoprover.appchain.state.Accounts;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Ed25519 with the JDK's own provider. An address is the raw 32-byte public key; the JDK wants an
 * X.509 encoding, which for Ed25519 is a fixed 12-byte prefix followed by the raw key.
 */
public final class Signatures {
  private Signatures() {}

  private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  /** The address of a JDK Ed25519 public key. */
  public static String address(PublicKey key) {
    byte[] encoded = key.getEncoded();
    if (encoded.length != X509_PREFIX.length + Accounts.ADDRESS_BYTES
        || !Arrays.equals(encoded, 0, X509_PREFIX.length, X509_PREFIX, 0, X509_PREFIX.length)) {
      throw new IllegalArgumentException("not an Ed25519 public key: " + key.getAlgorithm());
    }
    return HexFormat.of().formatHex(encoded, X509_PREFIX.length, encoded.length);
  }

  public static PublicKey publicKey(String address) throws GeneralSecurityException {
    byte[] raw = Accounts.addressBytes(address);
    byte[] encoded = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + raw.length);
    System.arraycopy(raw, 0, encoded, X509_PREFIX.length, raw.length);
    return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
  }

  /**
   * True when {@code signatureHex} is {@code address}'s signature of {@code message}; false on any
   * malformed part.
   */
  public static boolean verify(String address, byte[] message, String signatureHex) {
    try {
      Signature verifier = Signature.getInstance("Ed25519");
      verifier.initVerify(publicKey(address));
      verifier.update(message);
      return verifier.verify(HexFormat.of().parseHex(signatureHex));
    } catch (GeneralSecurityException | IllegalArgumentException | NullPointerException e) {
      return false;
    }
  }
}
