package dev.pekkoprover.appchain.flow;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.CborSerializable;

/**
 * What {@link BlockProvingFlow} completes with: the proof of one block, with its public values by
 * name.
 */
public record BlockProof(MockProof proof) implements CborSerializable {

  public long number() {
    return Long.parseLong(proof.in(0));
  }

  public String prevBlockHash() {
    return proof.in(1);
  }

  public String stateRootBefore() {
    return proof.in(2);
  }

  public String blockHash() {
    return proof.out(1);
  }

  public String stateRoot() {
    return proof.out(2);
  }
}
