package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.MissingTasks;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A front on a node that has begun to shut down routes no read-only query into the shard region: a
 * message for a shard without a home stays buffered there and holds the region's graceful shutdown
 * for its whole phase timeout on the last queue node (FaultFreeClusterIT's sequencer node, whose
 * autoscale reporter and registration check ask every 10 s).
 */
@ExtendWith(LogCapturingExtension.class)
class QueueFrontLeavingTest {
  private final ActorTestKit testKit = ActorTestKit.create("front-leaving", TestConfig.config());
  private final CompletableFuture<Done> holdShutdown = new CompletableFuture<>();

  @AfterEach
  void stop() {
    holdShutdown.complete(Done.getInstance());
    testKit.shutdownTestKit();
  }

  private final TaskCatalog catalog =
      TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE);

  @Test
  void whileTheNodeLeavesQueriesAreAnsweredWithoutTheRegionAndCommandsStillGoThere() {
    TestProbe<ShardingEnvelope<QueueCommand>> region = testKit.createTestProbe();
    ActorRef<QueueCommand> front =
        testKit.spawn(
            QueueFront.create(
                region.getRef(),
                catalog,
                new FrontSettings(Map.of(), 100, 1 << 20, 1 << 20, Duration.ofSeconds(30))));
    TestProbe<FleetView> fleet = testKit.createTestProbe();
    front.tell(new QueueCommand.GetFleet(fleet.getRef()));
    int entities = catalog.names().size();
    region.receiveSeveralMessages(entities); // before: each entity is asked

    // CoordinatedShutdown begins and is held in its first phase, before the region's hand-off
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(testKit.system());
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "hold", () -> holdShutdown);
    shutdown.run(CoordinatedShutdown.unknownReason());
    testKit
        .createTestProbe()
        .awaitAssert(
            () -> {
              assertEquals(true, shutdown.getShutdownReason().isPresent());
              return null;
            });

    front.tell(new QueueCommand.GetFleet(fleet.getRef()));
    FleetView view = fleet.expectMessageClass(FleetView.class, Duration.ofSeconds(1));
    assertEquals(List.of(), view.workers(), "an empty view, at once (the stats timeout is 30 s)");
    TestProbe<QueueStats> stats = testKit.createTestProbe();
    front.tell(new QueueCommand.GetStats(stats.getRef()));
    stats.expectMessageClass(QueueStats.class, Duration.ofSeconds(1));
    TestProbe<MissingTasks> missing = testKit.createTestProbe();
    front.tell(new QueueCommand.CheckHeld("square", List.of("t1"), missing.getRef()));
    missing.expectNoMessage(Duration.ofMillis(200));
    region.expectNoMessage(Duration.ofMillis(200));

    front.tell(new QueueCommand.CancelFlow("f"));
    region.receiveSeveralMessages(entities); // a command still goes to every entity
  }
}
