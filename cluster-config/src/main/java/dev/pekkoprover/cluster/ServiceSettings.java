package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * How the appchain service ({@link ChainService}) produces and proves blocks.
 *
 * @param blockInterval a block is produced this often when transactions are pending
 * @param maxBlockTransactions most transactions per block
 * @param blocksPerBatch blocks per batch proof
 * @param batchInterval a batch of fewer blocks is sealed once its oldest block is this old
 * @param txIndexSize the latest accepted transactions that keep a status
 * @param retryAfter a batch whose proof failed is proven again after this
 * @param snapshotEvery journal events between two snapshots of the service's state
 */
record ServiceSettings(
    Duration blockInterval,
    int maxBlockTransactions,
    int blocksPerBatch,
    Duration batchInterval,
    int txIndexSize,
    Duration retryAfter,
    int snapshotEvery) {
  ServiceSettings {
    if (blockInterval.isNegative()
        || blockInterval.isZero()
        || maxBlockTransactions < 1
        || blocksPerBatch < 1
        || txIndexSize < 1
        || snapshotEvery < 1) {
      throw new IllegalArgumentException(
          String.format(
              "the appchain service needs a positive block interval, transactions per block, "
                  + "blocks per batch, transaction index size and snapshot-every (--block-interval,"
                  + " --txs, --batch, prover.appchain-service.tx-index-size and .snapshot-every;"
                  + " were %s, %d, %d, %d, %d)",
              blockInterval, maxBlockTransactions, blocksPerBatch, txIndexSize, snapshotEvery));
    }
  }

  /**
   * From {@code prover.appchain-job} ({@code txs}, {@code batch}) and {@code
   * prover.appchain-service}.
   *
   * @throws IllegalArgumentException when a value is out of range
   */
  static ServiceSettings fromConfig(Config config) {
    Config job = config.getConfig("prover.appchain-job");
    Config service = config.getConfig("prover.appchain-service");
    return new ServiceSettings(
        service.getDuration("block-interval"),
        job.getInt("txs"),
        job.getInt("batch"),
        service.getDuration("batch-interval"),
        service.getInt("tx-index-size"),
        service.getDuration("retry-after"),
        service.getInt("snapshot-every"));
  }
}
