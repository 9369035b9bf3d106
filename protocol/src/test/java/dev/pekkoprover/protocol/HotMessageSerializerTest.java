package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.io.NotSerializableException;
import java.math.BigInteger;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.ByteBufferSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every hot message round-trips through {@link HotMessageSerializer}, found by the protocol's
 * bindings: typed payloads come back equal, serialised payloads come back as the same bytes
 * (undecoded), and nulls, empty lists, failures and declines survive.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HotMessageSerializerTest {
  private final ActorTestKit testKit = ActorTestKit.create("hot-messages", TestConfig.config());
  private final Serialization serialization =
      SerializationExtension.get(Adapter.toClassic(testKit.system()));
  private final TestProbe<TaskOutcome> flow = testKit.createTestProbe();
  private final TestProbe<QueueCommand> queue = testKit.createTestProbe();

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /**
   * The message back from its bytes, both ways Pekko serialises: to an array ({@code
   * serialize-messages}, the tests' way) and into a direct buffer (Artery's way), which must write
   * the same bytes and read back the same message.
   */
  private Object roundTrip(Object message) {
    Serializer serializer = serialization.findSerializerFor(message);
    assertInstanceOf(HotMessageSerializer.class, serializer, message.getClass().getName());
    assertEquals(HotMessageSerializer.ID, serializer.identifier());
    byte[] bytes = serializer.toBinary(message);
    String manifest = Serializers.manifestFor(serializer, message);
    Object fromArray = serialization.deserialize(bytes, serializer.identifier(), manifest).get();

    ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length + 64);
    ((ByteBufferSerializer) serializer).toBinary(message, buffer);
    buffer.flip();
    byte[] written = new byte[buffer.remaining()];
    buffer.duplicate().get(written);
    assertArrayEquals(bytes, written, "the buffer holds what the array holds");
    Object fromBuffer;
    try {
      fromBuffer = serialization.deserializeByteBuffer(buffer, serializer.identifier(), manifest);
    } catch (NotSerializableException e) {
      throw new AssertionError(e);
    }
    assertEquals(fromArray, fromBuffer);
    return fromArray;
  }

  /** A value in the form a front's or a worker's size check leaves it. */
  private SerializedPayload serialized(Object value) {
    return SerializedPayload.of(serialization, value);
  }

  private static TaskEnvelope task(String id, Object payload) {
    return new TaskEnvelope(id, "f", "run-1", "square", 2, payload, 5);
  }

  /** Every payload form a task can carry. */
  private List<Object> payloads() {
    List<Object> payloads = new ArrayList<>();
    payloads.add(Num.of(3));
    payloads.add(new Pair(Num.of(1), new Num(2, "hold:x")));
    payloads.add(new EncodedPayload("{\"value\": 4}"));
    payloads.add(serialized(Num.of(5)));
    payloads.add(serialized(new EncodedPayload("{}")));
    payloads.add("text ünïcode");
    payloads.add(42L);
    payloads.add(-7);
    payloads.add(true);
    payloads.add(2.5d);
    payloads.add(new BigInteger("-123456789012345678901234567890"));
    payloads.add(null);
    return payloads;
  }

  @Test
  void dispatchesRoundTripWithEveryPayloadForm() {
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (Object payload : payloads()) {
      tasks.add(task("f:" + tasks.size(), payload));
      WorkerCommand.Dispatch one =
          new WorkerCommand.Dispatch(tasks.get(tasks.size() - 1), queue.getRef());
      assertEquals(one, roundTrip(one));
    }
    WorkerCommand.DispatchAll all = new WorkerCommand.DispatchAll(tasks, queue.getRef());
    assertEquals(all, roundTrip(all));
    WorkerCommand.DispatchAll none = new WorkerCommand.DispatchAll(List.of(), queue.getRef());
    assertEquals(none, roundTrip(none));
  }

  @Test
  void enqueuesRoundTripWithEveryPayloadForm() {
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (Object payload : payloads()) {
      tasks.add(task("f:" + tasks.size(), payload));
    }
    QueueCommand.Enqueue enqueue = new QueueCommand.Enqueue(tasks, flow.getRef());
    assertEquals(enqueue, roundTrip(enqueue));
    QueueCommand.Enqueue empty = new QueueCommand.Enqueue(List.of(), flow.getRef());
    assertEquals(empty, roundTrip(empty));
    QueueCommand.Enqueue nobodyToTell = new QueueCommand.Enqueue(tasks, null);
    assertEquals(nobodyToTell, roundTrip(nobodyToTell));
    TaskEnvelope nullFields = new TaskEnvelope("f:9", null, null, "square", 1, null);
    QueueCommand.Enqueue sparse = new QueueCommand.Enqueue(List.of(nullFields), flow.getRef());
    assertEquals(sparse, roundTrip(sparse));
  }

  @Test
  void reportsRoundTripWithResultsFailuresAndDeclines() {
    List<QueueCommand.TaskSucceeded> succeeded = new ArrayList<>();
    for (Object result : payloads()) {
      succeeded.add(
          new QueueCommand.TaskSucceeded(
              "w1", "i1", "f:" + succeeded.size(), "r1", "square", 1, result));
    }
    List<QueueCommand.TaskFailed> failed =
        List.of(
            new QueueCommand.TaskFailed("w1", "i1", "f:a", "r1", "add", 3, "boom\nat line 2", true),
            new QueueCommand.TaskFailed("w1", "i1", "f:b", "r1", "add", 1, null, false));
    List<QueueCommand.TaskDeclined> declined =
        List.of(
            new QueueCommand.TaskDeclined("w1", "i1", "f:c", "r1", "add", 1, "not served"),
            new QueueCommand.TaskDeclined("w1", "i1", "f:d", "r1", "add", 2, "no slot", true));
    QueueCommand.Reports reports = new QueueCommand.Reports(succeeded, failed, declined);
    assertEquals(reports, roundTrip(reports));
    QueueCommand.Reports empty = new QueueCommand.Reports(List.of(), List.of(), List.of());
    assertEquals(empty, roundTrip(empty));
    QueueCommand.Reports onlyDeclines = new QueueCommand.Reports(List.of(), List.of(), declined);
    assertEquals(onlyDeclines, roundTrip(onlyDeclines));
    for (Object alone :
        List.of(succeeded.get(0), failed.get(0), failed.get(1), declined.get(0), declined.get(1))) {
      assertEquals(alone, roundTrip(alone));
    }
  }

  @Test
  void outcomesRoundTrip() {
    for (Object result : payloads()) {
      TaskOutcome.Succeeded success =
          new TaskOutcome.Succeeded("f:1", "f", "run-1", "square", 2, "w1", result);
      assertEquals(success, roundTrip(success));
    }
    List<Object> others =
        List.of(
            new TaskOutcome.Succeeded("f:1", "f", "run-1", "square", 1, null, Num.of(1)),
            new TaskOutcome.Failed("f:1", "f", "run-1", "square", 3, "failed 3 times: boom"),
            new TaskOutcome.Failed("f:1", "f", "run-1", "square", 0, null),
            new TaskOutcome.Rejected("f:1", "f", "run-1", "nope", "unknown task type nope"));
    for (Object outcome : others) {
      assertEquals(outcome, roundTrip(outcome));
    }
  }

  @Test
  void aSerializedPayloadCrossesAsItsBytesUndecoded() {
    SerializedPayload bytes = serialized(Num.of(8));
    WorkerCommand.Dispatch dispatch =
        new WorkerCommand.Dispatch(task("f:1", bytes), queue.getRef());
    Object payload = ((WorkerCommand.Dispatch) roundTrip(dispatch)).task().payload();
    SerializedPayload arrived = assertInstanceOf(SerializedPayload.class, payload);
    assertNotSame(bytes, arrived);
    assertEquals(bytes.serializerId(), arrived.serializerId());
    assertEquals(bytes.manifest(), arrived.manifest());
    assertArrayEquals(bytes.bytes(), arrived.bytes());
    assertEquals(Num.of(8), SerializedPayload.decode(serialization, arrived));
  }

  @Test
  void bytesThatDecodeToAClassOutsideTheProtocolAreRefused() {
    Serializer bytesSerializer = serialization.findSerializerFor(new byte[] {1});
    SerializedPayload raw =
        new SerializedPayload(bytesSerializer.identifier(), "", new byte[] {1, 2});
    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class, () -> SerializedPayload.decode(serialization, raw));
    assertTrue(refused.getMessage().contains("not a task value"), refused.getMessage());
  }

  @Test
  void aLiveValueArrivesAsTheTypedValue() {
    QueueCommand.TaskSucceeded result =
        new QueueCommand.TaskSucceeded(
            "w1", "i1", "f:1", "r1", "square", 1, new Pair(Num.of(1), Num.of(2)));
    Object arrived = ((QueueCommand.TaskSucceeded) roundTrip(result)).result();
    assertEquals(new Pair(Num.of(1), Num.of(2)), arrived);
  }

  @Test
  void aPayloadClassOutsideTheMarkerIsRefusedWithTheFix() {
    WorkerCommand.Dispatch dispatch =
        new WorkerCommand.Dispatch(task("f:1", new StringBuilder("no record")), queue.getRef());
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () -> serialization.findSerializerFor(dispatch).toBinary(dispatch));
    assertTrue(error.getMessage().contains(CborSerializable.class.getName()), error.getMessage());
    assertTrue(error.getMessage().contains(StringBuilder.class.getName()), error.getMessage());
  }

  @Test
  void aLargeMessageThenASmallOneLeaveNothingBehindInTheThreadsBuffer() {
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      tasks.add(task("flow-1:" + i, new Num(i, "x".repeat(200))));
    }
    WorkerCommand.DispatchAll large = new WorkerCommand.DispatchAll(tasks, queue.getRef());
    assertTrue(serialization.findSerializerFor(large).toBinary(large).length > 64 * 1024);
    assertEquals(large, roundTrip(large));
    WorkerCommand.Dispatch small = new WorkerCommand.Dispatch(task("f:1", 1L), queue.getRef());
    assertEquals(small, roundTrip(small));
    assertEquals(large, roundTrip(large));
  }

  @Test
  void aMessageLargerThanArterysBufferOverflowsIt() {
    WorkerCommand.Dispatch dispatch =
        new WorkerCommand.Dispatch(task("f:1", "y".repeat(1000)), queue.getRef());
    ByteBufferSerializer serializer =
        (ByteBufferSerializer) serialization.findSerializerFor(dispatch);
    assertThrows(
        BufferOverflowException.class,
        () -> serializer.toBinary(dispatch, ByteBuffer.allocateDirect(100)));
    WorkerCommand.Dispatch next = new WorkerCommand.Dispatch(task("f:2", 2L), queue.getRef());
    assertEquals(next, roundTrip(next), "the thread's buffer is clean after the overflow");
  }

  @Test
  void idsOutsideAsciiRoundTripBesideAsciiOnes() {
    List<TaskEnvelope> tasks = new ArrayList<>();
    tasks.add(new TaskEnvelope("flow-1:1", "flow-1", "run-1", "square", 1, 1L));
    tasks.add(new TaskEnvelope("flöw-1:2", "flöw-1", "rün-€", "squäre", 1, "ä".repeat(300)));
    tasks.add(new TaskEnvelope("", "f", "r", "\u007f\u0080\uD83D\uDE00", 3, "x"));
    tasks.add(new TaskEnvelope("flow-1:3", "flow-1", "run-1", "square", 1, "ascii again"));
    WorkerCommand.DispatchAll all = new WorkerCommand.DispatchAll(tasks, queue.getRef());
    assertEquals(all, roundTrip(all));
  }

  @Test
  void aFlowOrderRoundTripsAtEveryWidthOfItsVarint() {
    long[] orders = {0, 1, 127, 128, 16_383, 16_384, 1L << 35, Long.MAX_VALUE, -1};
    List<TaskEnvelope> tasks = new ArrayList<>();
    for (long order : orders) {
      tasks.add(new TaskEnvelope("f:" + tasks.size(), "f", "run-1", "square", 1, 1L, order));
    }
    WorkerCommand.DispatchAll all = new WorkerCommand.DispatchAll(tasks, queue.getRef());
    assertEquals(all, roundTrip(all));
    QueueCommand.Enqueue enqueue = new QueueCommand.Enqueue(tasks, flow.getRef());
    assertEquals(enqueue, roundTrip(enqueue));
    for (TaskEnvelope task : tasks) {
      WorkerCommand.Dispatch one = new WorkerCommand.Dispatch(task, queue.getRef());
      assertEquals(one, roundTrip(one));
    }
  }

  @Test
  void anUnknownManifestIsNotSerializable() {
    HotMessageSerializer serializer =
        (HotMessageSerializer) serialization.serializerByIdentity().apply(HotMessageSerializer.ID);
    assertThrows(NotSerializableException.class, () -> serializer.fromBinary(new byte[0], "??"));
  }

  @Test
  void reportsAreSmallerThanJacksonMadeThem() {
    List<QueueCommand.TaskSucceeded> results = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      results.add(
          new QueueCommand.TaskSucceeded(
              "worker-1", "inc-1", "flow-1:" + i, "r1", "square", 1, Num.of(i)));
    }
    QueueCommand.Reports reports = new QueueCommand.Reports(results, List.of(), List.of());
    int hot = serialization.findSerializerFor(reports).toBinary(reports).length;
    int jackson = serialization.serializerByIdentity().apply(jacksonId()).toBinary(reports).length;
    assertTrue(hot < jackson, hot + " bytes here, " + jackson + " with Jackson CBOR");
  }

  /**
   * One worker's batch names the worker, its incarnation, the run and the type once: each later
   * report of the batch is smaller than a report alone by exactly those strings. Fields that change
   * from one report to the next, nulls and non-ASCII values still come back as they were, across
   * the three lists of the batch.
   */
  @Test
  void aBatchNamesWhatRepeatsOnceAndKeepsWhatChanges() {
    String worker = "127.0.0.1:28170-w1";
    String incarnation = "540caee4-765f-49a0-98cd-3438d518b851";
    String run = "r1796402564904-11cfe0a6";
    String type = "StateTransitionReductionTask";
    List<QueueCommand.TaskSucceeded> same = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      same.add(
          new QueueCommand.TaskSucceeded(
              worker, incarnation, "batch-3-5-2:" + (10 + i), run, type, 1, Num.of(7)));
    }
    Serializer serializer = serialization.findSerializerFor(same.get(0));
    int alone = serializer.toBinary(same.get(0)).length;
    QueueCommand.Reports batch = new QueueCommand.Reports(same, List.of(), List.of());
    int named = worker.length() + incarnation.length() + run.length() + type.length();
    assertEquals(
        16 * alone - 15 * named + 3, // + the three list sizes
        serializer.toBinary(batch).length);
    assertEquals(batch, roundTrip(batch));

    QueueCommand.Reports mixed =
        new QueueCommand.Reports(
            List.of(
                new QueueCommand.TaskSucceeded(worker, incarnation, "f:1", run, type, 1, 1L),
                new QueueCommand.TaskSucceeded("w-2", incarnation, "f:2", null, type, 1, 2L),
                new QueueCommand.TaskSucceeded("w-2", "i-2", "f:3", null, "squäre", 2, 3L),
                new QueueCommand.TaskSucceeded(worker, incarnation, "f:4", run, type, 1, 4L)),
            List.of(
                new QueueCommand.TaskFailed(worker, incarnation, "f:5", run, type, 1, "boom", true),
                new QueueCommand.TaskFailed(worker, null, "f:6", "rün", "add", 1, null, false)),
            List.of(new QueueCommand.TaskDeclined(worker, null, "f:7", "rün", "add", 1, "busy")));
    assertEquals(mixed, roundTrip(mixed));
    List<TaskEnvelope> tasks =
        List.of(
            new TaskEnvelope("f:1", "f", run, "square", 1, 1L),
            new TaskEnvelope("f:2", "f", run, "square", 1, 2L),
            new TaskEnvelope("g:1", "g", run, "add", 3, 3L),
            new TaskEnvelope("f:3", "f", null, "square", 1, 4L));
    QueueCommand.Enqueue enqueue = new QueueCommand.Enqueue(tasks, flow.getRef());
    assertEquals(enqueue, roundTrip(enqueue));
  }

  private int jacksonId() {
    return serialization.findSerializerFor(new MissingTasks("square", List.of())).identifier();
  }
}
