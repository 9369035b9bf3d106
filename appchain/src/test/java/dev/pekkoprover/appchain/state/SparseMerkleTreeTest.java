package dev.pekkoprover.appchain.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SparseMerkleTreeTest {

  private static byte[] leaf(long value) {
    return Sha256.hash(Sha256.LEAF, Long.toString(value).getBytes());
  }

  @Test
  void anEmptyTreeProvesEveryLeafEmpty() {
    SparseMerkleTree tree = SparseMerkleTree.create();
    assertEquals(SparseMerkleTree.emptyRoot(), tree.root());
    MerkleWitness witness = tree.witness(12345L);
    assertTrue(witness.siblings().isEmpty());
    assertTrue(SparseMerkleTree.verify(tree.root(), 12345L, SparseMerkleTree.emptyLeaf(), witness));
    assertFalse(SparseMerkleTree.verify(tree.root(), 12345L, leaf(1), witness));
  }

  @Test
  void membershipWitnessesVerifyOnlyTheirLeafAtTheirPosition() {
    SparseMerkleTree tree = SparseMerkleTree.create();
    long[] indices = {0L, 1L, 2L, Long.MIN_VALUE, -1L, 0x7fff_ffff_ffff_ffffL, 987654321L};
    for (int i = 0; i < indices.length; i++) {
      tree.set(indices[i], leaf(i));
    }
    String root = tree.root();
    for (int i = 0; i < indices.length; i++) {
      MerkleWitness witness = tree.witness(indices[i]);
      assertTrue(SparseMerkleTree.verify(root, indices[i], leaf(i), witness), "leaf " + i);
      assertFalse(
          SparseMerkleTree.verify(root, indices[i], leaf(i + 100), witness), "wrong value " + i);
      assertFalse(
          SparseMerkleTree.verify(root, indices[i] ^ 4, leaf(i), witness), "wrong position " + i);
    }
    // a non-member's witness proves its leaf empty
    assertTrue(SparseMerkleTree.verify(root, 3L, SparseMerkleTree.emptyLeaf(), tree.witness(3L)));
  }

  @Test
  void anUpdateMovesTheRootAndTheOldWitnessGivesTheNewRoot() {
    SparseMerkleTree tree = SparseMerkleTree.create();
    tree.set(10, leaf(1));
    tree.set(11, leaf(2));
    String before = tree.root();
    MerkleWitness witness = tree.witness(10);
    tree.set(10, leaf(3));
    assertNotEquals(before, tree.root());
    // siblings do not change when the leaf does: one witness gives both roots
    assertEquals(tree.root(), Sha256.hex(SparseMerkleTree.computeRoot(10, leaf(3), witness)));
    assertEquals(before, Sha256.hex(SparseMerkleTree.computeRoot(10, leaf(1), witness)));
    assertTrue(SparseMerkleTree.verify(tree.root(), 11, leaf(2), tree.witness(11)));
  }

  @Test
  void theRootDependsOnContentNotOnOrderAndEmptyingRestoresTheEmptyTree() {
    Random random = new Random(7);
    Map<Long, Long> content = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      content.put(random.nextLong(), (long) i);
    }
    List<Long> keys = new ArrayList<>(content.keySet());
    SparseMerkleTree first = SparseMerkleTree.create();
    keys.forEach(k -> first.set(k, leaf(content.get(k))));
    Collections.shuffle(keys, random);
    SparseMerkleTree second = SparseMerkleTree.create();
    keys.forEach(k -> second.set(k, leaf(content.get(k))));
    assertEquals(first.root(), second.root());

    keys.forEach(k -> second.set(k, SparseMerkleTree.emptyLeaf()));
    assertEquals(SparseMerkleTree.emptyRoot(), second.root());
    assertEquals(0, second.storedNodes());
  }

  @Test
  void witnessesOfASparseTreeCarryOnlyTheNonDefaultSiblings() {
    SparseMerkleTree tree = SparseMerkleTree.create();
    Random random = new Random(3);
    for (int i = 0; i < 1000; i++) {
      tree.set(random.nextLong(), leaf(i));
    }
    MerkleWitness witness = tree.witness(random.nextLong());
    // about log2(1000) = 10 populated levels above a random leaf, far below the depth of 64
    assertTrue(witness.siblings().size() < 20, "siblings: " + witness.siblings().size());
    assertEquals(Long.bitCount(witness.nonDefaultLevels()), witness.siblings().size());
  }

  @Test
  void aMalformedWitnessIsRefusedWithItsProblem() {
    SparseMerkleTree tree = SparseMerkleTree.create();
    tree.set(5, leaf(1));
    tree.set(4, leaf(2));
    MerkleWitness witness = tree.witness(5);
    MerkleWitness missingSibling = new MerkleWitness(witness.nonDefaultLevels(), List.of());
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () -> SparseMerkleTree.computeRoot(5, leaf(1), missingSibling));
    assertTrue(
        error.getMessage().contains("1 levels marked non-default but 0 siblings"),
        error.getMessage());
    MerkleWitness notHex = new MerkleWitness(witness.nonDefaultLevels(), List.of("zz".repeat(32)));
    error =
        assertThrows(
            IllegalArgumentException.class, () -> SparseMerkleTree.computeRoot(5, leaf(1), notHex));
    assertTrue(error.getMessage().contains("witness sibling at level 0"), error.getMessage());
  }

  @Test
  void thousandsOfUpdatesKeepEveryWitnessValid() {
    // sanity for "thousands of updates per second": 20k updates must finish well inside the test
    // timeout
    SparseMerkleTree tree = SparseMerkleTree.create();
    Random random = new Random(11);
    long[] indices = new long[2000];
    for (int i = 0; i < indices.length; i++) {
      indices[i] = random.nextLong();
    }
    long[] values = new long[indices.length];
    for (int round = 0; round < 10; round++) {
      for (int i = 0; i < indices.length; i++) {
        values[i] = random.nextLong();
        tree.set(indices[i], leaf(values[i]));
      }
    }
    String root = tree.root();
    for (int i = 0; i < indices.length; i += 97) {
      assertTrue(
          SparseMerkleTree.verify(root, indices[i], leaf(values[i]), tree.witness(indices[i])));
    }
  }
}
