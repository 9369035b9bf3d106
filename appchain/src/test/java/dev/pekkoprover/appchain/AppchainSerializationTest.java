package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.flow.BlockProof;
import dev.pekkoprover.appchain.proof.CompileRequest;
import dev.pekkoprover.appchain.proof.CompiledCircuit;
import dev.pekkoprover.appchain.proof.MockProof;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.task.BlockBuildingInput;
import dev.pekkoprover.appchain.task.BlockProvingInput;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.appchain.task.NewBlockInput;
import dev.pekkoprover.appchain.task.ProofPair;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.appchain.trace.StateTransitionBatch;
import dev.pekkoprover.appchain.trace.TransactionTrace;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.testing.TestConfig;
import java.util.List;
import java.util.Random;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every appchain record crosses a node intact through the binding the framework uses (Jackson
 * CBOR).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(LogCapturingExtension.class)
class AppchainSerializationTest {
  private final ActorTestKit testKit =
      ActorTestKit.create("appchain-serialization", TestConfig.config());
  private final Serialization serialization =
      SerializationExtension.get(
          org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(testKit.system()));
  private final VerificationKeys keys = TestChains.keys();

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private byte[] bytes(Object message) {
    return serialization.serialize(message).get();
  }

  private Object roundTrip(Object message) {
    var serializer = serialization.findSerializerFor(message);
    assertEquals(
        message instanceof QueueCommand.Enqueue
            ? "dev.pekkoprover.protocol.HotMessageSerializer" // the protocol's hot messages
            : "org.apache.pekko.serialization.jackson.JacksonCborSerializer",
        serializer.getClass().getName());
    String manifest = Serializers.manifestFor(serializer, message);
    return serialization.deserialize(bytes(message), serializer.identifier(), manifest).get();
  }

  /** A task value as it travels: inside an envelope, typed by the envelope's class-name tag. */
  private Object asTaskValue(Object value) {
    TaskEnvelope envelope = new TaskEnvelope("f:1", "f", "run", "t", 1, value);
    return ((TaskEnvelope) roundTrip(envelope)).payload();
  }

  @Test
  void everyRecordRoundTrips() {
    TestChains.Produced produced = TestChains.produce(51, 10, 2, 3);
    BlockTrace block = produced.blocks().get(0);
    TransactionTrace tx = block.transactions().get(0);
    StateTransitionBatch batch = block.transitionBatches().get(0);
    CompileRequest request = Appchain.compileRequests(TestChains.SETTINGS).get(0);
    CompiledCircuit compiled = CircuitCompilerTask.INSTANCE.compute(request, null);
    BatchProof batchProof =
        DirectFlowRunner.<BatchProof>fifo(keys)
            .run(BatchProvingFlow.create(produced.blocks()))
            .result();
    MockProof proof = batchProof.proof();
    List<Object> values =
        List.of(
            new AccountState(5, 6),
            tx.runtime().transaction(),
            tx.runtime().transaction().transfer(),
            tx.runtime(),
            tx.transitions().get(0),
            tx,
            batch,
            batch.transitions().get(0),
            batch.transitions().get(0).witness(),
            block.header(),
            block,
            request,
            compiled,
            keys,
            proof,
            new ProofPair(proof, proof),
            new BlockProvingInput(
                0,
                0,
                proof,
                tx.transitions(),
                tx.transactionCommitmentBefore(),
                tx.transitionCommitmentBefore()),
            new NewBlockInput(block.header(), proof, proof),
            new BlockBuildingInput(List.of(proof, proof)),
            new BlockProof(proof),
            batchProof);
    for (Object value : values) {
      assertEquals(value, roundTrip(value), value.getClass().getSimpleName());
      assertEquals(value, asTaskValue(value), value.getClass().getSimpleName());
    }
    // the registration parameters travel as the registration task's payload
    assertEquals(
        keys,
        ((QueueCommand.Enqueue)
                roundTrip(
                    new QueueCommand.Enqueue(
                        List.of(
                            new TaskEnvelope("r:1", "r", "run", "worker-registration", 1, keys)),
                        testKit.<dev.pekkoprover.protocol.TaskOutcome>createTestProbe().getRef())))
            .tasks()
            .get(0)
            .payload());
  }

  @Test
  void aFlowWhoseEveryInputAndResultCrossesANodeStillMatchesTheChain() {
    TestChains.Produced produced = TestChains.produce(52, 12, 3, 4);
    DirectFlowRunner<BatchProof> runner =
        DirectFlowRunner.create(keys, new Random(3), this::asTaskValue);
    BatchProof batch = runner.run(BatchProvingFlow.create(produced.blocks())).result();
    assertEquals(produced.chain().stateRoot(), batch.stateRoot());
    assertEquals(produced.chain().lastBlockHash(), batch.lastBlockHash());
  }

  @Test
  void aFullTransitionBatchStaysFarBelowTheMessageSizeLimit() {
    // 2000 accounts: witnesses of about 11 siblings; default batch of 8 transitions
    TestChains.Produced produced = TestChains.produce(53, 2000, 1, 32);
    int largest = 0;
    for (StateTransitionBatch batch : produced.blocks().get(0).transitionBatches()) {
      largest = Math.max(largest, bytes(new TaskEnvelope("f:1", "f", "run", "t", 1, batch)).length);
    }
    assertTrue(largest < 32 * 1024, "largest transition batch envelope: " + largest + " bytes");
  }
}
