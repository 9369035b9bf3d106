package dev.pekkoprover.appchain.trace;

import dev.pekkoprover.appchain.state.MerkleWitness;
import dev.pekkoprover.appchain.state.StateTransition;
import dev.pekkoprover.protocol.CborSerializable;

/**
 * A state transition with the Merkle witness of its leaf, taken just before it was applied. The
 * leaf's siblings do not change when the leaf does, so the one witness gives the root before (with
 * the old value) and after (with the new one).
 */
public record TracedTransition(StateTransition transition, MerkleWitness witness)
    implements CborSerializable {}
