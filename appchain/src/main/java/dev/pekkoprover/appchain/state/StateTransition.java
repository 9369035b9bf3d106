package dev.pekkoprover.appchain.state;

import dev.pekkoprover.protocol.CborSerializable;
import java.security.MessageDigest;
import java.util.List;

/**
 * One account leaf going from one value to another: what a transaction's execution emits and what
 * the state transition prover applies to the Merkle root.
 */
public record StateTransition(String address, AccountState from, AccountState to)
    implements CborSerializable {

  /** The hash a commitment chain folds in: address, old value, new value. */
  public byte[] hash() {
    MessageDigest digest = Sha256.digest();
    digest.update(Sha256.TRANSITION);
    digest.update(Accounts.addressBytes(address));
    Sha256.updateLong(digest, from.balance());
    Sha256.updateLong(digest, from.nonce());
    Sha256.updateLong(digest, to.balance());
    Sha256.updateLong(digest, to.nonce());
    return digest.digest();
  }

  /**
   * The commitment after folding {@code transitions}, in order, into {@code before}: c' = H(c ||
   * H(transition)).
   */
  public static String commit(String before, List<StateTransition> transitions) {
    byte[] commitment = Sha256.unhex(before, "transition commitment");
    for (StateTransition transition : transitions) {
      commitment = Sha256.hash(Sha256.TRANSITION_CHAIN, commitment, transition.hash());
    }
    return Sha256.hex(commitment);
  }

  /** One transition folded into {@code before}. */
  public static byte[] commit(byte[] before, StateTransition transition) {
    return Sha256.hash(Sha256.TRANSITION_CHAIN, before, transition.hash());
  }

  public String describe() {
    return "account " + Accounts.shortAddress(address) + ", " + from + " -> " + to;
  }
}
