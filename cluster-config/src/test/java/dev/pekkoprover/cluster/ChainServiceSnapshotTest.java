package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The appchain service's actor snapshotting while transactions it accepted are not journaled yet: a
 * batch proof arrives between their acceptance and their write, so the proof's event is written
 * (and a snapshot taken) before theirs. The snapshot must leave them out, since the write that
 * follows brings them back on a restart; with them in, the restart would admit them twice and fail.
 * The order of the messages is fixed by holding the actor's thread in the prover until they are all
 * in its mailbox. And a snapshot the service cannot use is an ERROR line and a restart with
 * backoff, not a service stopped for good.
 */
@ExtendWith(LogCapturingExtension.class)
class ChainServiceSnapshotTest {
  private static final AppchainSettings APPCHAIN =
      AppchainSettings.fromConfig(ConfigFactory.load());
  private final Workload workload = Workload.generate(5, 10, 2, 4, 0);
  private ActorTestKit kit;

  @AfterEach
  void stop() {
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  /**
   * Ticks only when told (a block interval of an hour), blocks of 4, batches of 1 block, a snapshot
   * every 10 events: the tenth is the batch proof's.
   */
  private static ServiceSettings settings() {
    return new ServiceSettings(
        Duration.ofHours(1), 4, 1, Duration.ofHours(1), 1000, Duration.ofHours(1), 10);
  }

  private ActorRef<ChainService.Command> spawn(
      String name, ChainService.Prover prover, TestProbe<String> recovered) {
    return spawn(
        kit, name, "chain-snapshot-test", workload.genesis(), settings(), prover, "", recovered);
  }

  /**
   * A service that verifies every proof, journaled under {@code persistenceId} in the default
   * journal, snapshotting in {@code snapshotPlugin} (null: none).
   */
  static ActorRef<ChainService.Command> spawn(
      ActorTestKit kit,
      String name,
      String persistenceId,
      Map<String, Long> genesis,
      ServiceSettings settings,
      ChainService.Prover prover,
      String snapshotPlugin,
      TestProbe<String> recovered) {
    return kit.spawn(
        ChainService.create(
            persistenceId,
            genesis,
            APPCHAIN,
            settings,
            prover,
            proof -> null,
            "",
            snapshotPlugin,
            recovered.ref()::tell),
        name);
  }

  private static void accept(
      ActorRef<ChainService.Command> chain,
      SignedTransfer transaction,
      TestProbe<ChainService.SubmitReply> replies) {
    chain.tell(new ChainService.Submit(transaction, true, replies.ref()));
    ChainService.SubmitReply reply = replies.receiveMessage(Duration.ofSeconds(10));
    assertNull(reply.refused(), reply.toString());
  }

  private static ChainState.View view(
      ActorRef<ChainService.Command> chain, TestProbe<ChainState.View> views) {
    chain.tell(new ChainService.GetChain(views.ref()));
    return views.receiveMessage(Duration.ofSeconds(10));
  }

  @Test
  void transactionsAcceptedButNotJournaledAtASnapshotComeBackOnceOnARestart() throws Exception {
    Path snapshots = Files.createTempDirectory("chain-snapshots");
    kit =
        ActorTestKit.create(
            "chain-snapshot",
            ConfigFactory.parseString(
                    "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
                        + "pekko.persistence.snapshot-store.plugin = "
                        + "\"pekko.persistence.snapshot-store.local\"\n"
                        + "pekko.persistence.snapshot-store.local.dir = \""
                        + snapshots.toString().replace("\\", "/")
                        + "\"\n"
                        + "pekko.actor.serialize-messages = on\n")
                .withFallback(ConfigFactory.load()));
    List<SignedTransfer> transfers = workload.transfers();
    CountDownLatch proving = new CountDownLatch(2);
    CountDownLatch release = new CountDownLatch(1);
    Map<Long, CompletableFuture<BatchProof>> proofs = new ConcurrentHashMap<>();
    ChainService.Prover prover =
        (name, blocks) -> {
          CompletableFuture<BatchProof> proof = new CompletableFuture<>();
          proofs.put(blocks.get(0).number(), proof);
          proving.countDown();
          if (blocks.get(0).number() == 1) { // hold the actor while the test fills its mailbox
            try {
              assertTrue(release.await(30, TimeUnit.SECONDS), "the test never released");
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return proof; // answered by the test, or never
        };
    TestProbe<String> recovered = kit.createTestProbe();
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();
    ActorRef<ChainService.Command> chain = spawn("chain-1", prover, recovered);
    assertTrue(recovered.receiveMessage().contains("(from genesis, 0 journal event(s))"));

    // events 1-4: four transactions; 5, 6: block 0 and its batch
    transfers.subList(0, 4).forEach(tx -> accept(chain, tx, replies));
    chain.tell(ChainService.Tick.INSTANCE);
    assertEquals(1, view(chain, views).height());
    // the same on a chain of our own, for the batch proof's outputs
    ChainState twin = new ChainState(workload.genesis(), APPCHAIN, 1000);
    transfers.subList(0, 4).forEach(tx -> assertTrue(twin.submit(tx).accepted()));
    twin.produceBlock(4).orElseThrow();
    ChainState.Batch first = new ChainState.Batch(0, 0);
    twin.seal(twin.nextBatch(1, false).orElseThrow());
    ChainEvent.BatchProven outputs = twin.expectedProof(first);
    BatchProof proof =
        new BatchProof(
            new MockProof(
                "batch",
                "vk",
                List.of("0", "00".repeat(32), outputs.stateRootBefore()),
                List.of("1", outputs.lastBlockHash(), outputs.stateRoot()),
                "digest"));

    // event 7: a transaction; 8, 9: block 1 and its batch, whose proving holds the actor
    accept(chain, transfers.get(4), replies);
    chain.tell(ChainService.Tick.INSTANCE);
    assertTrue(proving.await(10, TimeUnit.SECONDS), "block 1 was not sent to be proven");
    // in the mailbox, in this order: two transactions, then block 0's proof (event 10, the
    // snapshot's); the write of the two (event 11) is asked for only when the first is handled
    chain.tell(new ChainService.Submit(transfers.get(5), true, replies.ref()));
    chain.tell(new ChainService.Submit(transfers.get(6), true, replies.ref()));
    proofs.get(0L).complete(proof); // its answer goes to the mailbox at once, from this thread
    release.countDown();
    for (int i = 0; i < 2; i++) {
      ChainService.SubmitReply reply = replies.receiveMessage(Duration.ofSeconds(10));
      assertNull(reply.refused(), reply.toString());
    }
    ChainState.View before = view(chain, views);
    assertEquals(1, before.provenHeight());
    assertEquals(7, before.accepted());
    kit.stop(chain, Duration.ofSeconds(10));

    ActorRef<ChainService.Command> again =
        spawn("chain-2", (name, blocks) -> new CompletableFuture<>(), recovered);
    String line = recovered.receiveMessage(Duration.ofSeconds(10));
    assertTrue(
        line.contains("(from a snapshot at proven height 1 and 1 journal event(s))"),
        "read the snapshot of event 10, replayed event 11: " + line);
    ChainState.View after = view(again, views);
    assertEquals(before, after);
    assertEquals(2, after.pending(), "the two written after the snapshot, once");
    TestProbe<ChainState.TxStatus> statuses = kit.createTestProbe();
    again.tell(new ChainService.GetTransaction(transfers.get(6).hash(), statuses.ref()));
    assertEquals("pending", statuses.receiveMessage().status());

    // a snapshot it cannot use (here: of another genesis; the events before it are gone) is said
    // in an ERROR line and tried again with backoff, not the end of the service
    kit.stop(again, Duration.ofSeconds(10));
    LoggingTestKit.error("appchain service cannot use its snapshot at proven height 1")
        .withOccurrences(2)
        .expect(
            kit.system(),
            () ->
                spawn(
                    kit,
                    "chain-3",
                    "chain-snapshot-test",
                    Workload.generate(6, 10, 0, 1, 0).genesis(),
                    settings(),
                    (name, blocks) -> new CompletableFuture<>(),
                    "",
                    recovered));
    recovered.expectNoMessage(Duration.ofMillis(200));
  }

  /**
   * A journal of another chain (here: of another genesis under the same id, as another build's
   * rules would give) is one ERROR line per recovery attempt that names the event and what to do,
   * not a second line in Pekko's words ({@link dev.pekkoprover.sequencer.RecoveryFailures}) nor
   * advice to check the database.
   */
  @Test
  void aJournalOfAnotherChainIsOneErrorLinePerAttemptNamingTheEvent() {
    kit =
        ActorTestKit.create(
            "chain-mismatch",
            ConfigFactory.parseString(
                    "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
                        + "pekko.actor.serialize-messages = on\n")
                .withFallback(ConfigFactory.load()));
    TestProbe<String> recovered = kit.createTestProbe();
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();
    ActorRef<ChainService.Command> chain =
        spawn(
            kit,
            "chain-1",
            "chain-mismatch-test",
            workload.genesis(),
            settings(),
            (name, blocks) -> new CompletableFuture<>(),
            null,
            recovered);
    recovered.receiveMessage(Duration.ofSeconds(10));
    workload.transfers().subList(0, 4).forEach(tx -> accept(chain, tx, replies));
    chain.tell(ChainService.Tick.INSTANCE);
    assertEquals(1, view(chain, views).height());
    kit.stop(chain, Duration.ofSeconds(10));

    List<String> lines = new CopyOnWriteArrayList<>();
    LoggingTestKit.error("appchain service cannot")
        .withCustom(event -> lines.add(event.message()))
        .withOccurrences(2) // two attempts, a second apart
        .withCheckExcess(false)
        .expect(
            kit.system(),
            () ->
                spawn(
                    kit,
                    "chain-2",
                    "chain-mismatch-test",
                    Workload.generate(6, 10, 0, 1, 0).genesis(),
                    settings(),
                    (name, blocks) -> new CompletableFuture<>(),
                    null,
                    recovered));
    for (String line : lines.subList(0, 2)) {
      assertTrue(
          line.startsWith("appchain service cannot replay its journal: event ")
              && line.contains("start with the prover.appchain.* settings"),
          line);
    }
    recovered.expectNoMessage(Duration.ofMillis(200));
  }
}
