package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.CborSerializable;

/** Input of a reduction task: two proofs of adjacent ranges, the lower one on the left. */
public record ProofPair(MockProof left, MockProof right) implements CborSerializable {}
