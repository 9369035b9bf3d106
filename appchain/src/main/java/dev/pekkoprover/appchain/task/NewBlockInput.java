package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.trace.BlockHeader;
import dev.pekkoprover.protocol.CborSerializable;

/**
 * Input of {@code NewBlockTask}: a block's header, its reduced transaction proof and its reduced
 * transition proof.
 */
public record NewBlockInput(
    BlockHeader header, MockProof transactionProof, MockProof transitionProof)
    implements CborSerializable {}
