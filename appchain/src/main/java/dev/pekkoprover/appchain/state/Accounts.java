package dev.pekkoprover.appchain.state;

import java.util.HexFormat;

/**
 * Addresses and their place in the tree. An address is the hex form of an account's raw 32-byte
 * Ed25519 public key; its leaf index is the first 8 bytes of SHA-256 of that key, so positions are
 * spread evenly over the 2^64 leaves.
 */
public final class Accounts {
  private Accounts() {}

  public static final int ADDRESS_BYTES = 32;

  /** Raw address bytes; fails naming the address when it is not 64 hex digits. */
  public static byte[] addressBytes(String address) {
    if (address == null || address.length() != 2 * ADDRESS_BYTES) {
      throw new IllegalArgumentException(
          "an address is "
              + 2 * ADDRESS_BYTES
              + " hex digits, got "
              + (address == null ? "none" : "'" + address + "'"));
    }
    try {
      return HexFormat.of().parseHex(address);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("address '" + address + "' is not hex");
    }
  }

  /**
   * What keeps {@code value} from being an address, in words (its length, or where a character is
   * not a hex digit), or null when it is one. The value itself is not repeated: it may be long.
   */
  public static String addressProblem(String value) {
    if (value == null) {
      return "it is missing";
    }
    if (value.length() != 2 * ADDRESS_BYTES) {
      return "it is "
          + value.length()
          + " character(s) long, an address is "
          + 2 * ADDRESS_BYTES
          + " hex digits";
    }
    for (int i = 0; i < value.length(); i++) {
      if (!java.util.HexFormat.isHexDigit(value.charAt(i))) { // ASCII only, as parseHex
        return "character "
            + (i + 1)
            + " is not a hex digit (0-9, a-f), an address is "
            + 2 * ADDRESS_BYTES
            + " hex digits";
      }
    }
    return null;
  }

  public static boolean isAddress(String address) {
    try {
      addressBytes(address);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The leaf index of an address (read it unsigned). */
  public static long index(String address) {
    byte[] hash = Sha256.hash(Sha256.ACCOUNT_INDEX, addressBytes(address));
    long index = 0;
    for (int i = 0; i < 8; i++) {
      index = (index << 8) | (hash[i] & 0xff);
    }
    return index;
  }

  /** First characters of an address, for messages. */
  public static String shortAddress(String address) {
    return Sha256.abbreviate(address);
  }
}
