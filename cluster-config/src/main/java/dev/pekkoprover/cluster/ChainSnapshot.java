package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.CborSerializable;
import java.util.List;

/**
 * What a snapshot of the appchain service holds ({@link ChainState#snapshot}): enough to rebuild
 * its state without the events before it. The chain is kept as it was at its proven height (the
 * base), with the transactions of every block after it and of the mempool: a restore executes those
 * blocks again, which gives their traces for proving and checks each block's hash, so a snapshot
 * holds no Merkle witnesses. Its size is about 60 bytes per account, the transactions not yet
 * proven, and 35 bytes per entry of the transaction index ({@code tx-index-size}).
 *
 * @param genesisStateRoot the root of the genesis the chain started from: a snapshot of another
 *     chain is refused
 * @param baseHeight the proven height: blocks {@code 0..baseHeight - 1} are proven
 * @param baseBlockHash the hash of block {@code baseHeight - 1} (all zero for 0)
 * @param baseStateRoot the state root after it, checked against the accounts on restore
 * @param accounts every non-zero account at the base
 * @param blocks the blocks from the base on, in order (none proven, or proven ahead of a gap)
 * @param transactions the transactions of {@code blocks}, in order, then those pending
 * @param batches the sealed batches from the base on, in order (waiting for a proof or proven
 *     ahead)
 * @param provenAhead the batches proven while an earlier one was not
 * @param lastBatch the last batch proof that moved the proven height, or null
 * @param accepted transactions accepted since genesis
 * @param indexHashes the transaction index (which block each recent transaction went into): the
 *     32-byte hashes, oldest first, back to back
 * @param indexBlocks each indexed transaction's block, or -1 while pending
 */
record ChainSnapshot(
    String genesisStateRoot,
    long baseHeight,
    String baseBlockHash,
    String baseStateRoot,
    List<Account> accounts,
    List<ChainEvent.BlockProduced> blocks,
    List<SignedTransfer> transactions,
    List<ChainEvent.BatchSealed> batches,
    List<ChainEvent.BatchProven> provenAhead,
    ChainEvent.BatchProven lastBatch,
    long accepted,
    byte[] indexHashes,
    long[] indexBlocks)
    implements CborSerializable {

  /** One account: its address (64 hex digits), balance and nonce. */
  record Account(String address, long balance, long nonce) implements CborSerializable {}
}
