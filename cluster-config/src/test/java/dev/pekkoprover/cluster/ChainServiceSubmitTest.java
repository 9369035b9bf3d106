package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The appchain service's actor on a submission that is not an ordinary new transaction: the same
 * transaction again before its first write is confirmed (both in its mailbox at once) is answered
 * accepted, after that write, and kept once; and once its node's CoordinatedShutdown has begun it
 * accepts nothing, whichever node's HTTP route asked (a cluster singleton's chain may run on
 * another node than the route).
 */
@ExtendWith(LogCapturingExtension.class)
class ChainServiceSubmitTest {
  private final Workload workload = Workload.generate(5, 10, 2, 4, 0);
  private final CompletableFuture<Done> held = new CompletableFuture<>();
  private ActorTestKit kit;

  @AfterEach
  void stop() {
    held.complete(Done.getInstance());
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  /** A recovered service on the in-memory journal that ticks only when told. */
  private ActorRef<ChainService.Command> start() {
    kit =
        ActorTestKit.create(
            "chain-submit",
            ConfigFactory.parseString(
                    "pekko.persistence.journal.plugin = \"pekko.persistence.journal.inmem\"\n"
                        + "pekko.actor.serialize-messages = on\n"
                        + "pekko.coordinated-shutdown.phases.before-service-unbind.timeout = 60s\n")
                .withFallback(ConfigFactory.load()));
    TestProbe<String> recovered = kit.createTestProbe();
    ActorRef<ChainService.Command> chain =
        ChainServiceSnapshotTest.spawn(
            kit,
            "chain",
            "chain-submit-test",
            workload.genesis(),
            new ServiceSettings(
                Duration.ofHours(1), 4, 1, Duration.ofHours(1), 1000, Duration.ofHours(1), 1000),
            (name, blocks) -> new CompletableFuture<BatchProof>(),
            null,
            recovered);
    recovered.receiveMessage(Duration.ofSeconds(10));
    return chain;
  }

  @Test
  void theSameTransactionTwiceBeforeItsWriteIsAnsweredAcceptedAfterItAndKeptOnce() {
    ActorRef<ChainService.Command> chain = start();
    SignedTransfer transaction = workload.transfers().get(0);
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    chain.tell(new ChainService.Submit(transaction, true, replies.ref()));
    chain.tell(new ChainService.Submit(transaction, true, replies.ref()));
    ChainService.SubmitReply first = replies.receiveMessage(Duration.ofSeconds(10));
    ChainService.SubmitReply again = replies.receiveMessage(Duration.ofSeconds(10));
    assertNull(first.refused(), first.toString());
    assertNull(first.acceptedBefore(), first.toString());
    assertNull(again.refused(), again.toString());
    assertEquals(
        new ChainState.TxStatus(transaction.hash(), "pending", null),
        again.acceptedBefore(),
        again.toString());
    TestProbe<ChainState.View> views = kit.createTestProbe();
    chain.tell(new ChainService.GetChain(views.ref()));
    ChainState.View view = views.receiveMessage(Duration.ofSeconds(10));
    assertEquals(1, view.accepted(), view.toString());
    assertEquals(1, view.pending(), view.toString());
    assertEquals(1, view.unproven(), view.toString());
  }

  @Test
  void nothingIsAcceptedOnceTheNodesShutdownHasBegun() {
    ActorRef<ChainService.Command> chain = start();
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(kit.system());
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(), "test-holds-the-shutdown", () -> held);
    shutdown.run(CoordinatedShutdown.unknownReason());
    TestProbe<ChainService.SubmitReply> replies = kit.createTestProbe();
    chain.tell(new ChainService.Submit(workload.transfers().get(0), true, replies.ref()));
    ChainService.SubmitReply reply = replies.receiveMessage(Duration.ofSeconds(10));
    assertEquals(ChainService.SHUTTING_DOWN, reply.refused(), reply.toString());
    assertTrue(reply.message().contains("send it again to another node"), reply.message());
    TestProbe<ChainState.View> views = kit.createTestProbe();
    chain.tell(new ChainService.GetChain(views.ref()));
    assertEquals(0, views.receiveMessage(Duration.ofSeconds(10)).accepted());
  }
}
