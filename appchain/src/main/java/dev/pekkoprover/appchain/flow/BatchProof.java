package dev.pekkoprover.appchain.flow;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.CborSerializable;

/**
 * What {@link BatchProvingFlow} completes with: the proof of consecutive blocks, for settlement.
 * Its public output is the final state root and the last block's hash, which must equal what the
 * sequencer computed directly.
 */
public record BatchProof(MockProof proof) implements CborSerializable {

  public long firstBlock() {
    return Long.parseLong(proof.in(0));
  }

  public long lastBlock() {
    return Long.parseLong(proof.out(0)) - 1;
  }

  /** The parent of the first block. */
  public String prevBlockHash() {
    return proof.in(1);
  }

  public String stateRootBefore() {
    return proof.in(2);
  }

  public String lastBlockHash() {
    return proof.out(1);
  }

  /** The state root after the last block. */
  public String stateRoot() {
    return proof.out(2);
  }
}
