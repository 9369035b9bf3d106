package dev.pekkoprover.appchain.state;

import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * A membership witness: the siblings on the path from one leaf of the {@link SparseMerkleTree} to
 * its root. Most siblings of a sparse tree are the default (empty-subtree) hash of their level, so
 * only the others travel: bit {@code l} of {@code nonDefaultLevels} is set when the sibling at
 * level {@code l} (0 = next to the leaf) is not the default, and {@code siblings} lists those,
 * lowest level first, in hex. With a few thousand accounts a witness carries about a dozen hashes
 * instead of 64.
 *
 * <p>The witness does not say which leaf it is for: the verifier derives the position from the
 * account's address, so a witness for another (empty) leaf cannot pass for this one.
 */
public record MerkleWitness(long nonDefaultLevels, List<String> siblings)
    implements CborSerializable {
  public MerkleWitness {
    siblings = List.copyOf(siblings);
  }
}
