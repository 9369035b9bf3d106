package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.protocol.CborSerializable;
import java.security.MessageDigest;

/**
 * What a block commits to. Its hash covers every field, so a block proof whose hash equals the
 * sequencer's proves the whole header: parent, state roots and both commitments.
 *
 * @param number 0 for the first block after genesis
 * @param prevBlockHash the parent's hash; all zero for block 0
 * @param transactionCommitment hash chain over the block's transaction hashes, in order, from all
 *     zero
 * @param transitionCommitment hash chain over the block's state transitions, in order, from all
 *     zero
 */
public record BlockHeader(
    long number,
    String prevBlockHash,
    String stateRootBefore,
    String stateRootAfter,
    int transactionCount,
    String transactionCommitment,
    String transitionCommitment)
    implements CborSerializable {

  public String blockHash() {
    MessageDigest digest = Sha256.digest();
    digest.update(Sha256.BLOCK);
    Sha256.updateLong(digest, number);
    digest.update(Sha256.unhex(prevBlockHash, "previous block hash"));
    digest.update(Sha256.unhex(stateRootBefore, "state root before"));
    digest.update(Sha256.unhex(stateRootAfter, "state root after"));
    Sha256.updateLong(digest, transactionCount);
    digest.update(Sha256.unhex(transactionCommitment, "transaction commitment"));
    digest.update(Sha256.unhex(transitionCommitment, "transition commitment"));
    return Sha256.hex(digest.digest());
  }
}
