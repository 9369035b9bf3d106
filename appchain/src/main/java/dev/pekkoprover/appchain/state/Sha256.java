package dev.pekkoprover.appchain.state;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 and the hex form every hash takes in records. One {@link MessageDigest} per thread, so
 * hashing allocates only its result. Hashes of different kinds of things start with a different
 * domain byte, so a leaf can never be mistaken for an inner node or a transition for a transaction.
 */
public final class Sha256 {
  private Sha256() {}

  /** Domain bytes: the first byte hashed for each kind of value. */
  public static final byte LEAF = 0x00;

  public static final byte NODE = 0x01;
  public static final byte TRANSITION = 0x02;
  public static final byte TRANSITION_CHAIN = 0x03;
  public static final byte TRANSACTION = 0x04;
  public static final byte TRANSACTION_CHAIN = 0x05;
  public static final byte BLOCK = 0x06;
  public static final byte PROOF = 0x07;
  public static final byte KEY = 0x08;
  public static final byte ACCOUNT_INDEX = 0x09;
  public static final byte WORK = 0x0a;

  public static final int LENGTH = 32;

  /**
   * The all-zero hash: the empty leaf, the start of every commitment chain, the parent of the first
   * block.
   */
  public static final String ZERO_HEX = "0".repeat(2 * LENGTH);

  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> DIGEST =
      ThreadLocal.withInitial(Sha256::newDigest);

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
  }

  /** This thread's digest, reset. Use it within one call; never keep it. */
  public static MessageDigest digest() {
    MessageDigest digest = DIGEST.get();
    digest.reset();
    return digest;
  }

  /** Hash of an inner node of the Merkle tree. */
  public static byte[] node(byte[] left, byte[] right) {
    MessageDigest digest = digest();
    digest.update(NODE);
    digest.update(left);
    digest.update(right);
    return digest.digest();
  }

  /** Hash of a domain byte followed by the given parts. */
  public static byte[] hash(byte domain, byte[]... parts) {
    MessageDigest digest = digest();
    digest.update(domain);
    for (byte[] part : parts) {
      digest.update(part);
    }
    return digest.digest();
  }

  /** {@code hash(domain, unhex(left), unhex(right))} in hex: one link of a commitment chain. */
  public static String chain(byte domain, String left, String right) {
    return hex(hash(domain, unhex(left), unhex(right)));
  }

  public static void updateLong(MessageDigest digest, long value) {
    for (int shift = 56; shift >= 0; shift -= 8) {
      digest.update((byte) (value >>> shift));
    }
  }

  /** Writes a string with its length first, so that a sequence of strings hashes unambiguously. */
  public static void updateString(MessageDigest digest, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    updateLong(digest, bytes.length);
    digest.update(bytes);
  }

  public static String hex(byte[] bytes) {
    return HEX.formatHex(bytes);
  }

  /**
   * Decodes a 32-byte hash; fails with a message naming {@code what} when it is not 64 hex digits.
   */
  public static byte[] unhex(String hex, String what) {
    if (hex == null || hex.length() != 2 * LENGTH) {
      throw new IllegalArgumentException(
          what
              + " must be "
              + 2 * LENGTH
              + " hex digits, was "
              + (hex == null ? "missing" : "'" + abbreviate(hex) + "'"));
    }
    try {
      return HEX.parseHex(hex);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " is not hex: '" + abbreviate(hex) + "'");
    }
  }

  public static byte[] unhex(String hex) {
    return unhex(hex, "hash");
  }

  /** The first 8 hex digits and an ellipsis: enough to tell hashes apart in a message. */
  public static String abbreviate(String hex) {
    return hex == null ? "null" : hex.length() <= 12 ? hex : hex.substring(0, 8) + "…";
  }
}
