package dev.pekkoprover.appchain.state;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A sparse Merkle tree of depth 64 over SHA-256: 2^64 leaves addressed by a {@code long} (read
 * unsigned), every leaf empty (all-zero hash) until set. Only non-default nodes are stored, one map
 * per level, and the default hash of every level is computed once, so an update costs 64 hashes and
 * a witness lookup 64 map reads.
 *
 * <p>A plain single-threaded class: the sequencer's chain state. Provers never hold a tree; they
 * check a {@link MerkleWitness} with {@link #computeRoot}.
 */
public final class SparseMerkleTree {
  public static final int DEPTH = 64;

  /**
   * {@code DEFAULTS[l]}: the hash of an empty subtree whose root is at level {@code l} (0 = a
   * leaf).
   */
  private static final byte[][] DEFAULTS = new byte[DEPTH + 1][];

  static {
    DEFAULTS[0] = new byte[Sha256.LENGTH];
    for (int level = 1; level <= DEPTH; level++) {
      DEFAULTS[level] = Sha256.node(DEFAULTS[level - 1], DEFAULTS[level - 1]);
    }
  }

  /**
   * {@code levels[l]}: the non-default nodes at level {@code l}, by position ({@code index >>> l}).
   */
  private final List<Map<Long, byte[]>> levels = new ArrayList<>(DEPTH);

  private byte[] root = DEFAULTS[DEPTH];

  private SparseMerkleTree() {
    for (int level = 0; level < DEPTH; level++) {
      levels.add(new HashMap<>());
    }
  }

  public static SparseMerkleTree create() {
    return new SparseMerkleTree();
  }

  /** The root of a tree whose every leaf is empty. */
  public static String emptyRoot() {
    return Sha256.hex(DEFAULTS[DEPTH]);
  }

  public static byte[] emptyLeaf() {
    return DEFAULTS[0].clone();
  }

  public String root() {
    return Sha256.hex(root);
  }

  /** The leaf hash at {@code index} (all zero when empty). */
  public byte[] leaf(long index) {
    return node(0, index).clone();
  }

  /** Sets the leaf at {@code index}; an all-zero hash empties it. */
  public void set(long index, byte[] leafHash) {
    if (leafHash.length != Sha256.LENGTH) {
      throw new IllegalArgumentException(
          "a leaf hash has " + Sha256.LENGTH + " bytes, got " + leafHash.length);
    }
    byte[] hash = leafHash.clone();
    for (int level = 0; level < DEPTH; level++) {
      long position = index >>> level;
      store(level, position, hash);
      byte[] sibling = node(level, position ^ 1);
      hash = (position & 1) == 0 ? Sha256.node(hash, sibling) : Sha256.node(sibling, hash);
    }
    root = hash;
  }

  /** The witness of the leaf at {@code index} against the current root. */
  public MerkleWitness witness(long index) {
    long mask = 0;
    List<String> siblings = new ArrayList<>();
    for (int level = 0; level < DEPTH; level++) {
      byte[] sibling = levels.get(level).get((index >>> level) ^ 1);
      if (sibling != null) {
        mask |= 1L << level;
        siblings.add(Sha256.hex(sibling));
      }
    }
    return new MerkleWitness(mask, siblings);
  }

  /**
   * The root that {@code witness} gives when the leaf at {@code index} holds {@code leafHash}. A
   * witness is valid for a root when this returns that root.
   *
   * @throws IllegalArgumentException when the witness is malformed (sibling count does not match
   *     its level mask, or a sibling is not a 32-byte hex hash)
   */
  public static byte[] computeRoot(long index, byte[] leafHash, MerkleWitness witness) {
    List<String> siblings = witness.siblings();
    long mask = witness.nonDefaultLevels();
    if (Long.bitCount(mask) != siblings.size()) {
      throw new IllegalArgumentException(
          "malformed witness: "
              + Long.bitCount(mask)
              + " levels marked non-default but "
              + siblings.size()
              + " siblings given");
    }
    byte[] hash = leafHash;
    int next = 0;
    for (int level = 0; level < DEPTH; level++) {
      byte[] sibling =
          (mask & (1L << level)) != 0
              ? Sha256.unhex(siblings.get(next++), "witness sibling at level " + level)
              : DEFAULTS[level];
      hash = ((index >>> level) & 1) == 0 ? Sha256.node(hash, sibling) : Sha256.node(sibling, hash);
    }
    return hash;
  }

  public static boolean verify(String root, long index, byte[] leafHash, MerkleWitness witness) {
    return Sha256.hex(computeRoot(index, leafHash, witness)).equals(root);
  }

  /** Number of stored (non-default) nodes: memory use, for tests and sizing. */
  public int storedNodes() {
    int count = 0;
    for (Map<Long, byte[]> level : levels) {
      count += level.size();
    }
    return count;
  }

  private byte[] node(int level, long position) {
    byte[] stored = levels.get(level).get(position);
    return stored != null ? stored : DEFAULTS[level];
  }

  private void store(int level, long position, byte[] hash) {
    if (Arrays.equals(hash, DEFAULTS[level])) {
      levels.get(level).remove(position);
    } else {
      levels.get(level).put(position, hash);
    }
  }
}
