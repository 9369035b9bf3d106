package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.protocol.QueueStats;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.WorkerStateChanged;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.eventstream.EventStream;

/**
 * Builds single-JVM nodes of the test task types, with short leases and backoffs so redelivery is
 * quick.
 */
final class TestNodes {
  private TestNodes() {}

  static final String FAST =
      """
      prover.queue.default-lease = 3s
      prover.queue.lease-check-interval = 100ms
      prover.queue.retry.min-backoff = 20ms
      prover.queue.retry.max-backoff = 100ms
      prover.queue.max-attempts = 3
      prover.worker.restart.min-backoff = 50ms
      prover.worker.restart.max-backoff = 200ms
      """;

  static TaskCatalog catalog() {
    return TaskCatalog.of(TestTasks.all());
  }

  static StartupPlan<TestTasks.CompileRequest, TestTasks.Keys> compilePlan() {
    return StartupPlan.of(
        TestTasks.Compile.INSTANCE,
        List.of(new TestTasks.CompileRequest("square")),
        results -> results.get(0));
  }

  static ProverNode.Builder node(String name, String overrides) {
    return ProverNode.builder(name)
        .config(TestConfig.config(overrides + "\n" + FAST))
        .catalog(catalog())
        .localQueue()
        .sequencer(compilePlan());
  }

  /**
   * A single-JVM node of the test task types whose sequencer keeps results and flow outcomes in the
   * H2 database at {@code jdbcUrl} (pekko-persistence-jdbc, as the launcher's run does), its tables
   * created if missing.
   */
  static ProverNode.Builder durableNode(String name, String jdbcUrl, String overrides) {
    Config config = durableConfig(jdbcUrl, overrides);
    try {
      JournalSchema.createIfMissing(config);
    } catch (Exception e) {
      throw new AssertionError("cannot create the journal's tables in " + jdbcUrl + ": " + e, e);
    }
    return ProverNode.builder(name)
        .config(config)
        .catalog(catalog())
        .localQueue()
        .sequencer(compilePlan());
  }

  static Config durableConfig(String jdbcUrl, String overrides) {
    return ConfigFactory.parseString(
            "prover.journal.url = \""
                + jdbcUrl
                + "\"\n"
                + "prover.persistence.database = \"H2 database "
                + jdbcUrl
                + "\"\n"
                + overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("journal-h2"))
        .withFallback(TestConfig.config(FAST))
        .resolve();
  }

  static <T> T await(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("waited 30 s in vain: " + e, e);
    }
  }

  /** The sum of the leaves' squares: a square task per leaf, merged pairwise by add tasks. */
  static FanOutReduce<TestTasks.Num, TestTasks.Num, TestTasks.Pair> sumOfSquares(long... leaves) {
    return new FanOutReduce<>(
        TestTasks.Square.INSTANCE,
        java.util.Arrays.stream(leaves).mapToObj(TestTasks.Num::of).toList(),
        TestTasks.Add.INSTANCE,
        TestTasks.Pair::new);
  }

  /** {@code GET /status} of a node with HTTP on, read as a report; fails unless it answers 200. */
  static StatusReport status(ProverNode node) {
    Http.Answer answer = Http.get(node.httpUrl().orElseThrow() + "/status");
    if (answer.status() != 200) {
      throw new AssertionError("/status answered " + answer.status() + ": " + answer.body());
    }
    try {
      return StatusReport.fromJson(answer.body());
    } catch (java.io.IOException unreadable) {
      throw new AssertionError("/status is not a report: " + answer.body(), unreadable);
    }
  }

  static QueueStats stats(ProverNode node) {
    return await(node.queueStats());
  }

  /** A probe that sees every worker state change of the node's actor system. */
  static TestProbe<WorkerStateChanged> stateProbe(ActorTestKit kit) {
    TestProbe<WorkerStateChanged> probe = kit.createTestProbe();
    kit.system()
        .eventStream()
        .tell(new EventStream.Subscribe<>(WorkerStateChanged.class, probe.getRef()));
    return probe;
  }

  /**
   * The message of the {@code FlowFailedException} that failed this flow; an AssertionError when it
   * completed instead.
   */
  static String failureOf(ProverNode node, FlowLogic<?> logic) {
    try {
      await(node.run("bad", logic));
    } catch (AssertionError e) {
      for (Throwable cause = e; cause != null; cause = cause.getCause()) {
        if (cause instanceof FlowFailedException failure) {
          return failure.getMessage();
        }
      }
      throw e;
    }
    throw new AssertionError("the flow should have failed");
  }
}
