package dev.pekkoprover.appchain.proof;

import dev.pekkoprover.protocol.CborSerializable;

/**
 * Result of {@code CircuitCompilerTask}: one circuit's verification key.
 *
 * @param verificationKey the key (hex); the mock uses one key to make and to check proofs
 * @param vkHash the hash every proof of this circuit carries
 */
public record CompiledCircuit(
    String circuit, String verificationKey, String vkHash, long provingWork)
    implements CborSerializable {}
