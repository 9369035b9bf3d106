package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every protocol message round-trips through the binding that crosses nodes, with its typed payload
 * intact: the hot messages through {@link HotMessageSerializer} (its own cases in {@link
 * HotMessageSerializerTest}), the rest through Jackson CBOR.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SerializationTest {
  private final ActorTestKit testKit = ActorTestKit.create("serialization", TestConfig.config());
  private final Serialization serialization =
      SerializationExtension.get(
          org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(testKit.system()));

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  /** The messages every task crosses the network in; everything else is Jackson CBOR. */
  private static final Set<Class<?>> HOT =
      Set.of(
          WorkerCommand.Dispatch.class,
          WorkerCommand.DispatchAll.class,
          QueueCommand.Enqueue.class,
          QueueCommand.Reports.class,
          QueueCommand.TaskSucceeded.class,
          QueueCommand.TaskFailed.class,
          QueueCommand.TaskDeclined.class,
          TaskOutcome.Succeeded.class,
          TaskOutcome.Failed.class,
          TaskOutcome.Rejected.class);

  private Object roundTrip(Object message) {
    var serializer = serialization.findSerializerFor(message);
    assertEquals(
        HOT.contains(message.getClass())
            ? HotMessageSerializer.class.getName()
            : "org.apache.pekko.serialization.jackson.JacksonCborSerializer",
        serializer.getClass().getName());
    byte[] bytes = serialization.serialize(message).get();
    String manifest = Serializers.manifestFor(serializer, message);
    return serialization.deserialize(bytes, serializer.identifier(), manifest).get();
  }

  /** {@link WorkerCommand.Cancel} as builds before its run id sent it. */
  record OldCancel(List<String> taskIds, String reason) implements CborSerializable {}

  /** {@link QueueCommand.WorkerLoad} as builds before its waiting tasks sent it. */
  record OldWorkerLoad(
      org.apache.pekko.actor.typed.ActorRef<WorkerCommand> worker,
      String workerId,
      String incarnation,
      List<String> heldTaskIds,
      boolean periodic,
      List<String> orphanedTaskIds,
      List<String> orphanedRunIds)
      implements CborSerializable {}

  /** {@code old}'s bytes read as the class of {@code current} (a rolling upgrade's mixed nodes). */
  private Object readAs(Object old, Object current) {
    var serializer = serialization.findSerializerFor(current);
    byte[] bytes = serialization.serialize(old).get();
    return serialization
        .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, current))
        .get();
  }

  @Test
  void messagesOfAnOlderBuildWithoutTheFieldsAddedSinceStillRead() {
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    assertEquals(
        new WorkerCommand.Cancel(List.of("f:1"), null, "lease of 500 ms ran out"),
        readAs(
            new OldCancel(List.of("f:1"), "lease of 500 ms ran out"),
            new WorkerCommand.Cancel(List.of(), "r", "x")),
        "no run: the tasks held under those ids, whatever their run");
    QueueCommand.WorkerLoad load =
        (QueueCommand.WorkerLoad)
            readAs(
                new OldWorkerLoad(
                    worker.getRef(),
                    "w1",
                    "i1",
                    List.of("f:1"),
                    true,
                    List.of("f:1"),
                    List.of("r1")),
                new QueueCommand.WorkerLoad(worker.getRef(), "w", "i", List.of(), true));
    assertEquals(List.of("f:1"), load.heldTaskIds());
    assertEquals(List.of("r1"), load.orphanedRunIds());
    assertEquals(List.of(), load.waitingTaskIds(), "none waiting, as before");
  }

  @Test
  void envelopeKeepsItsTypedPayload() {
    TaskEnvelope task =
        new TaskEnvelope("f:1", "f", "run-1", "add", 2, new Pair(Num.of(3), new Num(4, "hold:x")));
    assertEquals(task, roundTrip(task));
    TaskEnvelope plain = new TaskEnvelope("f:2", "f", "run-1", "square", 1, 42L, 7);
    assertEquals(plain, roundTrip(plain));
    assertEquals(7, ((TaskEnvelope) roundTrip(plain)).flowSeq(), "the order the queue keeps");
  }

  @Test
  void queueMessagesRoundTrip() {
    TestProbe<TaskOutcome> flow = testKit.createTestProbe();
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    TestProbe<QueueCommand> queue = testKit.createTestProbe();
    List<Object> messages =
        List.of(
            new QueueCommand.Enqueue(
                List.of(new TaskEnvelope("f:1", "f", "r", "square", 1, Num.of(2))), flow.getRef()),
            new QueueCommand.WorkerServes(worker.getRef(), "w1", "i1", Set.of("square", "add"), 4),
            new QueueCommand.TaskSucceeded("w1", "i1", "f:1", "r1", "square", 1, Num.of(4)),
            new QueueCommand.TaskFailed("w1", "i1", "f:1", "r1", "square", 1, "boom", true),
            new TaskOutcome.Succeeded("f:1", "f", "r", "square", 1, "w1", Num.of(4)),
            new TaskOutcome.Failed("f:1", "f", "r", "square", 3, "boom"),
            new QueueStats(
                Map.of("square", new QueueStats.TypeStats(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
                2,
                9,
                10),
            new WorkerCommand.Dispatch(
                new TaskEnvelope("f:1", "f", "r", "square", 1, new EncodedPayload("{}")),
                queue.getRef()),
            new WorkerStateChanged("w1", "i1", WorkerState.READY),
            new QueueCommand.WorkerLoad(
                worker.getRef(),
                "w1",
                "i1",
                List.of("f:1", "f:2"),
                true,
                List.of("f:2"),
                List.of("r1"),
                List.of("f:1")),
            new QueueCommand.WorkerGoingDown(
                worker.getRef(), "w1", "i1", List.of("f:1"), "crashed"),
            new QueueCommand.WorkerGoingDown(
                worker.getRef(), "w1", "i1", List.of(), "the drain's 25000 ms are over", true),
            new WorkerStateChanged("w1", "i1", WorkerState.DRAINING),
            new QueueCommand.CheckHeld(
                "square", List.of("f:1"), testKit.<MissingTasks>createTestProbe().getRef()),
            new MissingTasks("square", List.of("f:1")),
            new QueueCommand.RelayOffer(queue.getRef()),
            new QueueCommand.RelayWithdrawn(queue.getRef()),
            new WorkerCommand.QueueEntityStopping(queue.getRef()),
            new WorkerCommand.Cancel(List.of("f:1"), "run-1", "lease of 500 ms ran out"),
            new WorkerCommand.Withdraw("f:2", "run-1"),
            new WorkerCommand.DispatchAll(
                List.of(
                    new TaskEnvelope("f:1", "f", "r", "square", 1, Num.of(2)),
                    new TaskEnvelope("f:2", "f", "r", "add", 1, new Pair(Num.of(1), Num.of(2)))),
                queue.getRef()),
            new QueueCommand.Reports(
                List.of(
                    new QueueCommand.TaskSucceeded(
                        "w1", "i1", "f:1", "r1", "square", 1, Num.of(4))),
                List.of(
                    new QueueCommand.TaskFailed("w1", "i1", "f:2", "r1", "add", 1, "boom", false)),
                List.of(
                    new QueueCommand.TaskDeclined("w1", "i1", "f:3", "r1", "add", 1, "not served"),
                    new QueueCommand.TaskDeclined(
                        "w1", "i1", "f:4", "r1", "add", 1, "busy", true))));
    for (Object message : messages) {
      assertEquals(message, roundTrip(message));
    }
  }

  @Test
  void statusMessagesRoundTrip() {
    TestProbe<WorkerCommand> worker = testKit.createTestProbe();
    RecentFailure failure =
        new RecentFailure(1_700_000_000_000L, "failed", "square", "f:1", "f", "w1", "boom");
    FleetView.WorkerView view =
        new FleetView.WorkerView(
            "w1",
            "127.0.0.1:2552",
            "i1",
            WorkerState.READY,
            List.of("add", "square"),
            List.of("add", "compile", "square"),
            2,
            1,
            40,
            3,
            1,
            250,
            true,
            null);
    FleetView fleet =
        new FleetView(
            List.of(view),
            Map.of(
                "square",
                new FleetView.TypeView(
                    new QueueStats.TypeStats(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                    1,
                    3,
                    3_000_000,
                    12,
                    5_000_000)),
            List.of(failure),
            2,
            3,
            1,
            1,
            List.of(
                new FleetView.DepartedWorker(
                    "w2",
                    "10.0.0.6:2552",
                    "i7",
                    WorkerState.DRAINING,
                    List.of("square"),
                    12,
                    1,
                    FleetView.DepartedWorker.DRAINED,
                    4_200)));
    List<Object> messages =
        List.of(
            new QueueCommand.WorkerServes(
                worker.getRef(),
                "w1",
                "i1",
                Set.of("square"),
                2,
                WorkerState.READY,
                Set.of("square", "compile")),
            new QueueCommand.WorkerServes(
                worker.getRef(),
                "w1",
                "i1",
                Set.of("square"),
                2,
                WorkerState.READY,
                Set.of("square"),
                CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE))
                    .registeredWith("r1", "0011223344556677")),
            new WorkerCommand.Refused("w1", "i1", "its task catalog differs", false, null),
            new QueueCommand.RunCatalog(
                "r1", CatalogFingerprint.of(TaskCatalog.of()).versions(), "0011223344556677"),
            new QueueCommand.RunStarted("r0000000000001-00000000"),
            new FleetView.WorkerView(
                "w2",
                "n",
                "i",
                WorkerState.UNPREPARED,
                List.of(),
                List.of("square"),
                1,
                0,
                0,
                0,
                0,
                5,
                true,
                "its task catalog differs"),
            new QueueCommand.GetFleet(testKit.<FleetView>createTestProbe().getRef()),
            fleet,
            // a view with entities carried over (KeyedGather) and why
            new FleetView(
                fleet.workers(),
                fleet.types(),
                fleet.recentFailures(),
                2,
                3,
                7,
                9,
                fleet.departedWorkers(),
                Map.of("square#0", 4_100L, "square#1", 3_900L),
                "queue node pekko://prover@10.0.0.7:25520 is unreachable"),
            new FlowsView(
                "run-1",
                true,
                1,
                2,
                3,
                List.of(new FlowsView.FlowProgress("batch-0-1", 64, 40, 1200)),
                List.of(
                    new RecentFailure(
                        1L, "flow failed", null, null, "batch-1-2", null, "task x failed")),
                List.of("the sequencer's store prover-results has not confirmed a write")));
    for (Object message : messages) {
      assertEquals(message, roundTrip(message));
    }
  }

  @Test
  void aPayloadClassOutsideTheMarkerIsRefused() {
    TaskEnvelope task =
        new TaskEnvelope("f:1", "f", "r", "square", 1, new StringBuilder("not a record"));
    Throwable error = assertThrows(Throwable.class, () -> serialization.serialize(task).get());
    String text = String.valueOf(error.getMessage()) + error.getCause();
    assertTrue(text.contains("CborSerializable"), text);
  }
}
