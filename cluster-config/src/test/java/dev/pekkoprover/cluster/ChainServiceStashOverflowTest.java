package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The appchain service when Pekko drops its commands: while a journal write (or a snapshot) is in
 * flight it stashes at most {@code pekko.persistence.typed.stash-capacity} commands and drops the
 * rest, and a dropped batch proof's answer or retry must not leave the batch unproven until a
 * restart. The capacity is 2 here; the messages are put in the mailbox in a fixed order by holding
 * the actor's thread in the prover (called on it), and the retry timer moves with {@link
 * ManualTime}.
 */
@ExtendWith(LogCapturingExtension.class)
class ChainServiceStashOverflowTest {
  private static final AppchainSettings APPCHAIN =
      AppchainSettings.fromConfig(ConfigFactory.load());
  private static final Duration RETRY_AFTER = Duration.ofSeconds(1);
  private final Workload workload = Workload.generate(7, 10, 3, 4, 0);
  private ActorTestKit kit;

  @AfterEach
  void stop() {
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  /** The proof the circuits would give for these blocks: the roots the service expects. */
  private static BatchProof proofOf(List<BlockTrace> blocks) {
    BlockTrace first = blocks.get(0);
    BlockTrace last = blocks.get(blocks.size() - 1);
    return new BatchProof(
        new MockProof(
            "batch",
            "vk",
            List.of(
                Long.toString(first.number()),
                first.header().prevBlockHash(),
                first.header().stateRootBefore()),
            List.of(Long.toString(last.number() + 1), last.blockHash(), last.stateRootAfter()),
            "digest"));
  }

  @Test
  void aDroppedProofAnswerOrRetryDelaysItsBatchByATickNotUntilARestart() throws Exception {
    kit =
        ActorTestKit.create(
            "chain-stash",
            ManualTime.config()
                .withFallback(
                    ConfigFactory.parseString(
                        "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
                            + "pekko.persistence.typed.stash-capacity = 2\n"
                            + "pekko.actor.serialize-messages = on\n"))
                .withFallback(ConfigFactory.load()));
    ManualTime time = ManualTime.get(kit.system());
    List<SignedTransfer> transfers = workload.transfers();
    Map<Long, CompletableFuture<BatchProof>> proofs = new ConcurrentHashMap<>();
    Map<Long, List<BlockTrace>> traces = new ConcurrentHashMap<>();
    BlockingQueue<Long> proving = new LinkedBlockingQueue<>();
    Map<Long, CountDownLatch> holds =
        Map.of(2L, new CountDownLatch(1), 3L, new CountDownLatch(1)); // released by the test
    ChainService.Prover prover =
        (name, blocks) -> {
          long first = blocks.get(0).number();
          CompletableFuture<BatchProof> proof = new CompletableFuture<>();
          proofs.put(first, proof);
          traces.put(first, blocks);
          proving.add(first);
          CountDownLatch hold = holds.get(first);
          if (hold != null) {
            try { // proving blocks 2 and 3 holds the actor's thread until released
              assertTrue(hold.await(30, TimeUnit.SECONDS), "the test never released");
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return proof;
        };
    TestProbe<String> recovered = kit.createTestProbe();
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();
    // ticks only when told, 4 transactions a block, a batch a block, a retry a second after
    ActorRef<ChainService.Command> chain =
        ChainServiceSnapshotTest.spawn(
            kit,
            "chain",
            "chain-stash-test",
            workload.genesis(),
            new ServiceSettings(
                Duration.ofHours(1), 4, 1, Duration.ofHours(1), 1000, RETRY_AFTER, 1000),
            prover,
            null,
            recovered);
    recovered.receiveMessage(Duration.ofSeconds(10));

    // blocks 0, 1, 2, each its batch and proving; block 2's holds the actor
    accept(chain, transfers.subList(0, 4), replies);
    tickAndAwaitProving(chain, proving, 0);
    accept(chain, transfers.subList(4, 5), replies);
    tickAndAwaitProving(chain, proving, 1);
    accept(chain, transfers.subList(5, 6), replies);
    tickAndAwaitProving(chain, proving, 2);

    // mailbox: block 0's proof (its event is written next), two reads (stashed meanwhile: the
    // stash is full), block 1's proof (dropped)
    proofs.get(0L).complete(proofOf(traces.get(0L)));
    chain.tell(new ChainService.GetChain(views.ref()));
    chain.tell(new ChainService.GetChain(views.ref()));
    proofs.get(1L).complete(proofOf(traces.get(1L)));
    holds.get(2L).countDown();
    views.receiveMessage(Duration.ofSeconds(10));
    views.receiveMessage(Duration.ofSeconds(10));
    assertEquals(1, view(chain, views).provenHeight(), "block 1's proof was dropped");

    // the next tick finds block 1's answer kept but not handled
    LoggingTestKit.warn("lost the answer of the proof of blocks 1-1")
        .expect(kit.system(), () -> tick(chain));
    awaitProven(chain, views, 2);

    // block 2's proof fails: retried after RETRY_AFTER
    LoggingTestKit.error("batch proof of blocks 2-2 failed")
        .expect(
            kit.system(),
            () -> proofs.get(2L).completeExceptionally(new IllegalStateException("a task failed")));
    // block 3, whose proving holds the actor; meanwhile in the mailbox: a transaction and a tick
    // (block 4's event is written next), two reads (stashed), block 2's retry (dropped)
    accept(chain, transfers.subList(6, 7), replies);
    tickAndAwaitProving(chain, proving, 3);
    chain.tell(new ChainService.Submit(transfers.get(7), true, replies.ref()));
    chain.tell(ChainService.Tick.INSTANCE);
    chain.tell(new ChainService.GetChain(views.ref()));
    chain.tell(new ChainService.GetChain(views.ref()));
    time.timePasses(RETRY_AFTER);
    holds.get(3L).countDown();
    assertNull(replies.receiveMessage(Duration.ofSeconds(10)).refused());
    assertEquals(4L, proving.poll(10, TimeUnit.SECONDS), "block 4 sealed and sent to be proven");
    views.receiveMessage(Duration.ofSeconds(10));
    views.receiveMessage(Duration.ofSeconds(10));
    assertEquals(5, view(chain, views).height());
    assertNull(proving.poll(200, TimeUnit.MILLISECONDS), "block 2's retry was dropped");

    // the next tick proves block 2 again
    LoggingTestKit.warn("lost the retry of the proof of blocks 2-2")
        .expect(kit.system(), () -> tick(chain));
    assertEquals(2L, proving.poll(10, TimeUnit.SECONDS));
    proofs.get(2L).complete(proofOf(traces.get(2L)));
    proofs.get(3L).complete(proofOf(traces.get(3L)));
    proofs.get(4L).complete(proofOf(traces.get(4L)));
    ChainState.View done = awaitProven(chain, views, 5);
    assertEquals(8, done.accepted());
    assertEquals(0, done.pending());
    MeterRegistry registry = ProverMetrics.get(kit.system()).registry();
    assertEquals(2.0, registry.counter("prover.appchain.commands.lost").count(), "one of each");
    assertEquals(1.0, registry.counter("prover.appchain.batch.proofs.failed").count());
  }

  private static void accept(
      ActorRef<ChainService.Command> chain,
      List<SignedTransfer> transactions,
      TestProbe<ChainService.SubmitReply> replies) {
    for (SignedTransfer transaction : transactions) {
      chain.tell(new ChainService.Submit(transaction, true, replies.ref()));
      ChainService.SubmitReply reply = replies.receiveMessage(Duration.ofSeconds(10));
      assertNull(reply.refused(), reply.toString());
    }
  }

  private static Void tick(ActorRef<ChainService.Command> chain) {
    chain.tell(ChainService.Tick.INSTANCE);
    return null;
  }

  private static void tickAndAwaitProving(
      ActorRef<ChainService.Command> chain, BlockingQueue<Long> proving, long block)
      throws InterruptedException {
    chain.tell(ChainService.Tick.INSTANCE);
    assertEquals(block, proving.poll(10, TimeUnit.SECONDS), "block " + block + " sent to proving");
  }

  private static ChainState.View view(
      ActorRef<ChainService.Command> chain, TestProbe<ChainState.View> views) {
    chain.tell(new ChainService.GetChain(views.ref()));
    return views.receiveMessage(Duration.ofSeconds(10));
  }

  private static ChainState.View awaitProven(
      ActorRef<ChainService.Command> chain, TestProbe<ChainState.View> views, long height) {
    // a read that arrives with two commands stashed already is dropped too: asked again
    return views.awaitAssert(
        Duration.ofSeconds(10),
        () -> {
          chain.tell(new ChainService.GetChain(views.ref()));
          ChainState.View view = views.receiveMessage(Duration.ofSeconds(1));
          assertEquals(height, view.provenHeight());
          return view;
        });
  }
}
