package dev.pekkoprover.appchain.proof;

import dev.pekkoprover.protocol.CborSerializable;

/**
 * Input of {@code CircuitCompilerTask}: compile one circuit.
 *
 * @param circuit the {@link Circuit#id()}
 * @param seed the key is derived from it, so every compile of one seed gives the same key
 * @param provingWork SHA-256 iterations per proof with this circuit (its "size")
 */
public record CompileRequest(String circuit, String seed, long provingWork)
    implements CborSerializable {}
