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
  private final List<SignedTransfer> transfers = workload.transfers();
  private final Map<Long, CompletableFuture<BatchProof>> proofs = new ConcurrentHashMap<>();
  private final Map<Long, List<BlockTrace>> traces = new ConcurrentHashMap<>();

  /** The first block of each batch sent to the prover, in order. */
  private final BlockingQueue<Long> proving = new LinkedBlockingQueue<>();

  private ActorTestKit kit;
  private ManualTime time;

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

  /**
   * The service, recovered, with {@code stashCapacity}: it ticks only when told, takes 4
   * transactions a block and a batch a block, and retries a failed proof {@link #RETRY_AFTER}
   * later. Proving a block in {@code holds} holds the actor's thread until the test releases it.
   */
  private ActorRef<ChainService.Command> start(int stashCapacity, Map<Long, CountDownLatch> holds) {
    kit =
        ActorTestKit.create(
            "chain-stash",
            ManualTime.config()
                .withFallback(
                    ConfigFactory.parseString(
                        "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
                            + "pekko.persistence.typed.stash-capacity = "
                            + stashCapacity
                            + "\n"
                            + "pekko.actor.serialize-messages = on\n"))
                .withFallback(ConfigFactory.load()));
    time = ManualTime.get(kit.system());
    ChainService.Prover prover =
        (name, blocks) -> {
          long first = blocks.get(0).number();
          CompletableFuture<BatchProof> proof = new CompletableFuture<>();
          proofs.put(first, proof);
          traces.put(first, blocks);
          proving.add(first);
          CountDownLatch hold = holds.get(first);
          if (hold != null) {
            try {
              assertTrue(hold.await(30, TimeUnit.SECONDS), "the test never released");
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          return proof;
        };
    TestProbe<String> recovered = kit.createTestProbe();
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
    return chain;
  }

  @Test
  void aDroppedProofAnswerOrRetryDelaysItsBatchByATickNotUntilARestart() throws Exception {
    Map<Long, CountDownLatch> holds =
        Map.of(2L, new CountDownLatch(1), 3L, new CountDownLatch(1)); // released by the test
    ActorRef<ChainService.Command> chain = start(2, holds);
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();

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

  /**
   * A tick stashed during a journal write, ahead of a due retry that is stashed too: the retry
   * timer has ended, but its {@link ChainService.Retry} is not lost, and the batch is proven once,
   * by it, with no WARN and no count of a lost command.
   */
  @Test
  void aRetryStashedBehindATickIsNotTakenForLost() throws Exception {
    Map<Long, CountDownLatch> holds = Map.of(1L, new CountDownLatch(1));
    ActorRef<ChainService.Command> chain = start(1000, holds);
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    TestProbe<ChainState.View> views = kit.createTestProbe();
    accept(chain, transfers.subList(0, 4), replies);
    tickAndAwaitProving(chain, proving, 0);
    LoggingTestKit.error("batch proof of blocks 0-0 failed")
        .expect(
            kit.system(),
            () -> proofs.get(0L).completeExceptionally(new IllegalStateException("a task failed")));
    // block 1, whose proving holds the actor; meanwhile in the mailbox: a transaction, a tick
    // (block 2's event is written next), a tick (stashed), block 0's retry (stashed behind it)
    accept(chain, transfers.subList(4, 5), replies);
    tickAndAwaitProving(chain, proving, 1);
    chain.tell(new ChainService.Submit(transfers.get(5), true, replies.ref()));
    chain.tell(ChainService.Tick.INSTANCE);
    chain.tell(ChainService.Tick.INSTANCE);
    time.timePasses(RETRY_AFTER);
    LoggingTestKit.warn("lost the retry")
        .withOccurrences(0)
        .expect(
            kit.system(),
            () -> {
              holds.get(1L).countDown();
              assertNull(replies.receiveMessage(Duration.ofSeconds(10)).refused());
              List<Long> next = new java.util.ArrayList<>();
              for (int i = 0; i < 2; i++) {
                next.add(nextProving());
              }
              next.sort(null);
              assertEquals(List.of(0L, 2L), next, "block 2 sealed, block 0 retried");
              chain.tell(ChainService.Tick.INSTANCE); // a later tick finds block 0 proving
              return view(chain, views);
            });
    assertNull(proving.poll(200, TimeUnit.MILLISECONDS), "block 0 proven once again, not twice");
    proofs.get(0L).complete(proofOf(traces.get(0L)));
    proofs.get(1L).complete(proofOf(traces.get(1L)));
    proofs.get(2L).complete(proofOf(traces.get(2L)));
    assertEquals(6, awaitProven(chain, views, 3).accepted());
    MeterRegistry registry = ProverMetrics.get(kit.system()).registry();
    assertEquals(0.0, registry.counter("prover.appchain.commands.lost").count());
  }

  /** The first block of the next batch sent to the prover, waited for 10 s. */
  private Long nextProving() {
    try {
      return proving.poll(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
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
