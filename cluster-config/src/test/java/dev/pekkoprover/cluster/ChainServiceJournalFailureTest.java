package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.sequencer.NodeProblems;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The appchain service after a journal write that failed (a database that went down): Pekko
 * restarts it with backoff and replays its journal onto the empty state it was given once, so that
 * state must be empty again. The restarted service holds what was journaled and not the transaction
 * whose write failed, and its next block replays as it was produced: before the fix, a database
 * outage left a service whose next restart could never replay its journal.
 */
@ExtendWith(LogCapturingExtension.class)
class ChainServiceJournalFailureTest {
  private final Workload workload = Workload.generate(5, 10, 2, 4, 0);
  private ActorTestKit kit;

  @AfterEach
  void stop() {
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  /** Ticks only when told, blocks of 8, batches of 1 block, no snapshots. */
  private static ServiceSettings settings() {
    return new ServiceSettings(
        Duration.ofHours(1), 8, 1, Duration.ofHours(1), 1000, Duration.ofHours(1), 1000);
  }

  private ActorRef<ChainService.Command> spawn(String name, TestProbe<String> recovered) {
    return ChainServiceSnapshotTest.spawn(
        kit,
        name,
        "chain-journal-failure",
        workload.genesis(),
        settings(),
        (proofName, blocks) -> new CompletableFuture<>(),
        null,
        recovered);
  }

  @Test
  void afterAFailedWriteTheServiceReplaysItsJournalAndLeavesOutWhatWasNotWritten() {
    kit =
        ActorTestKit.create(
            "chain-journal-failure",
            PersistenceTestKitPlugin.getInstance()
                .config()
                .withFallback(ConfigFactory.parseString("pekko.actor.serialize-messages = on"))
                .withFallback(ConfigFactory.load()));
    PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
    List<SignedTransfer> transfers = workload.transfers();
    TestProbe<String> recovered = kit.createTestProbe();
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();
    ActorRef<ChainService.Command> chain = spawn("chain-1", recovered);
    assertTrue(recovered.receiveMessage().contains("(from genesis, 0 journal event(s))"));
    for (SignedTransfer transaction : transfers.subList(0, 3)) { // three writes
      chain.tell(new ChainService.Submit(transaction, true, replies.ref()));
      assertNull(replies.receiveMessage(Duration.ofSeconds(10)).refused());
    }

    assertEquals(List.of(), NodeProblems.get(kit.system()).current());
    journal.failNextPersisted();
    chain.tell(new ChainService.Submit(transfers.get(3), true, replies.ref()));
    // until it is back (1-1.2 s), the status API's problems say so (the log alone did before)
    TestProbe<Object> status = kit.createTestProbe();
    status.awaitAssert(
        Duration.ofSeconds(3),
        () -> {
          List<String> problems = NodeProblems.get(kit.system()).current();
          assertEquals(1, problems.size(), problems.toString());
          assertTrue(
              problems.get(0).startsWith("the appchain service's journal has failed for "),
              problems.get(0));
          assertTrue(problems.get(0).contains("submissions are answered 503 UNAVAILABLE"));
          return null;
        });
    String line = recovered.receiveMessage(Duration.ofSeconds(30)); // restarted after 1-1.2 s
    // read again, but no write confirmed yet: a database that reads and refuses writes looks the
    // same, so the line stays (it came and went with each cycle of such a database)
    List<String> afterRecovery = NodeProblems.get(kit.system()).current();
    assertEquals(1, afterRecovery.size(), afterRecovery.toString());
    assertTrue(
        afterRecovery
            .get(0)
            .matches(
                "the appchain service's journal failed a write \\d+ s ago \\(.*\\): it has read its"
                    + " journal again and has not confirmed a write since; .*"),
        afterRecovery.get(0));
    assertTrue(
        line.matches(
            "appchain service read its journal again \\d+ s after it failed: height 0, .*"),
        "after the failure, the line says the service is back: " + line);
    assertTrue(
        line.contains("3 transaction(s) pending")
            && line.endsWith("(from genesis, 3 journal event(s))"),
        "replayed the three written, not the one whose write failed: " + line);
    replies.expectNoMessage(Duration.ofMillis(100)); // never acknowledged
    TestProbe<ChainState.TxStatus> statuses = kit.createTestProbe();
    chain.tell(new ChainService.GetTransaction(transfers.get(3).hash(), statuses.ref()));
    assertEquals("unknown", statuses.receiveMessage().status());

    // the next block holds the three; a restart replays it as it was produced
    chain.tell(ChainService.Tick.INSTANCE);
    chain.tell(new ChainService.GetChain(views.ref()));
    ChainState.View before = views.receiveMessage(Duration.ofSeconds(10));
    assertEquals(
        List.of(), NodeProblems.get(kit.system()).current(), "the block's write confirmed: none");
    assertEquals(1, before.height());
    assertEquals(3, before.accepted());
    kit.stop(chain, Duration.ofSeconds(10));
    ActorRef<ChainService.Command> again = spawn("chain-2", recovered);
    assertTrue(
        recovered.receiveMessage(Duration.ofSeconds(10)).startsWith("appchain service: height 1,"));
    again.tell(new ChainService.GetChain(views.ref()));
    assertEquals(before, views.receiveMessage(Duration.ofSeconds(10)));
  }
}
