package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * Input of {@code BlockBuildingTask}: block or batch proofs of consecutive blocks, oldest first (at
 * least one).
 */
public record BlockBuildingInput(List<MockProof> proofs) implements CborSerializable {
  public BlockBuildingInput {
    proofs = List.copyOf(proofs);
  }
}
