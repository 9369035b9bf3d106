package dev.pekkoprover.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pekkoprover.protocol.CatalogFingerprint;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskEnvelope;
import dev.pekkoprover.protocol.TaskOutcome;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerCommand;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import dev.pekkoprover.protocol.WorkerState;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readies a cluster node's serialisation while the node is still joining. Jackson builds a class's
 * (de)serialiser on its first use, which on a fresh JVM costs milliseconds per class; without this,
 * a joining worker node paid for each protocol message and each task type's input and result on the
 * path to its first task, after it was Up. Joining takes seconds of waiting for the cluster's
 * handshake, so the work is done then, on a thread of its own.
 *
 * <p>It also checks that every protocol message still round-trips with its binding, and says so at
 * once in the log if one does not (a message that cannot cross nodes would otherwise fail only when
 * first sent).
 */
public final class SerializationWarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(SerializationWarmUp.class);

  private SerializationWarmUp() {}

  /**
   * Starts the warm-up on a daemon thread; the returned future completes when it is done (never
   * exceptionally).
   */
  public static CompletableFuture<Void> start(ActorSystem<?> system, TaskCatalog catalog) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Thread thread =
        new Thread(
            () -> {
              try {
                run(system, catalog);
              } catch (RuntimeException e) {
                LOG.warn("serialisation warm-up stopped early: {}", e.toString());
              } finally {
                done.complete(null);
              }
            },
            system.name() + "-serialization-warm-up");
    thread.setDaemon(true);
    thread.start();
    return done;
  }

  /**
   * The warm-up on the caller's thread: every task type's input and result class and every protocol
   * message through the node's serializers; a message that does not round-trip is one ERROR line
   * naming it.
   */
  public static void run(ActorSystem<?> system, TaskCatalog catalog) {
    ObjectMapper cbor =
        JacksonObjectMapperProvider.get(system).getOrCreate("jackson-cbor", Optional.empty());
    for (String name : catalog.names()) {
      TaskType<?, ?> type = catalog.get(name);
      for (Class<?> valueType : List.of(type.inputType(), type.resultType())) {
        if (valueType != Object.class) {
          cbor.readerFor(valueType); // builds and caches the deserialiser
          cbor.writerFor(valueType); // and the serialiser
        }
      }
    }
    Serialization serialization = SerializationExtension.get(Adapter.toClassic(system));
    for (Object message : samples(system)) {
      try {
        byte[] bytes = serialization.serialize(message).get();
        var serializer = serialization.findSerializerFor(message);
        serialization
            .deserialize(bytes, serializer.identifier(), manifest(serializer, message))
            .get();
      } catch (RuntimeException e) {
        LOG.error(
            "the protocol message {} does not round-trip through its serializer: {}; messages of this class "
                + "cannot cross nodes: check the serialization-bindings of dev.pekkoprover.protocol.CborSerializable",
            message.getClass().getName(),
            e.toString());
      }
    }
  }

  private static String manifest(
      org.apache.pekko.serialization.Serializer serializer, Object message) {
    return serializer
            instanceof org.apache.pekko.serialization.SerializerWithStringManifest withManifest
        ? withManifest.manifest(message)
        : message.getClass().getName();
  }

  /** One of each message a worker node and a queue node exchange, with small values. */
  private static List<Object> samples(ActorSystem<?> system) {
    ActorRef<WorkerCommand> worker = system.ignoreRef();
    ActorRef<QueueCommand> queue = system.ignoreRef();
    ActorRef<TaskOutcome> flow = system.ignoreRef();
    WorkerRegistrationTask.Registered registered = new WorkerRegistrationTask.Registered("warm-up");
    TaskEnvelope task =
        new TaskEnvelope(
            "warm-up:1", "warm-up", "warm-up", WorkerRegistrationTask.NAME, 1, registered);
    QueueCommand.TaskSucceeded succeeded =
        new QueueCommand.TaskSucceeded(
            "w", "i", task.taskId(), task.runId(), task.taskType(), 1, registered);
    QueueCommand.TaskFailed failed =
        new QueueCommand.TaskFailed(
            "w", "i", task.taskId(), task.runId(), task.taskType(), 1, "warm-up", true);
    QueueCommand.TaskDeclined declined =
        new QueueCommand.TaskDeclined(
            "w", "i", task.taskId(), task.runId(), task.taskType(), 1, "warm-up");
    List<Object> samples = new ArrayList<>();
    Set<String> registration = Set.of(WorkerRegistrationTask.NAME);
    samples.add(
        new QueueCommand.WorkerServes(
            worker,
            "w",
            "i",
            registration,
            1,
            WorkerState.REGISTERED,
            registration,
            CatalogFingerprint.of(TaskCatalog.of()).registeredWith("r", "0123456789abcdef")));
    samples.add(new WorkerCommand.Refused("w", "i", "warm-up", false, null));
    samples.add(
        new QueueCommand.RunCatalog("r", CatalogFingerprint.of(TaskCatalog.of()).versions(), null));
    samples.add(new QueueCommand.RunStarted("r"));
    samples.add(new WorkerCommand.Dispatch(task, queue));
    samples.add(new WorkerCommand.DispatchAll(List.of(task, task), queue));
    samples.add(succeeded);
    samples.add(failed);
    samples.add(declined);
    samples.add(new QueueCommand.Reports(List.of(succeeded), List.of(failed), List.of(declined)));
    samples.add(new QueueCommand.Enqueue(List.of(task), flow));
    samples.add(
        new TaskOutcome.Succeeded(task.taskId(), "f", "r", task.taskType(), 1, "w", registered));
    samples.add(new TaskOutcome.Failed(task.taskId(), "f", "r", task.taskType(), 1, "warm-up"));
    samples.add(new QueueCommand.WorkerLoad(worker, "w", "i", List.of(task.taskId()), true));
    samples.add(
        new QueueCommand.WorkerGoingDown(worker, "w", "i", List.of(task.taskId()), "warm-up"));
    samples.add(new WorkerCommand.Cancel(List.of(task.taskId()), task.runId(), "warm-up"));
    samples.add(new WorkerCommand.Withdraw(task.taskId(), task.runId()));
    samples.add(new QueueCommand.RelayOffer(queue));
    return samples;
  }
}
