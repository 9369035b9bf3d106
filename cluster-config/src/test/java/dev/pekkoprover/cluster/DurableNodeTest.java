package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.sequencer.TaskResultCounts;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Durability through the real queue and workers and the real journal plugin (pekko-persistence-jdbc
 * on H2, in memory here so that two nodes of one test share it): a node stopped mid-way and started
 * again reuses every stored result and runs only the rest; two flows with the same work compute it
 * once; the journal stays bounded.
 */
@ExtendWith(LogCapturingExtension.class)
class DurableNodeTest {

  private static String database(String name) {
    return "jdbc:h2:mem:" + name + "-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1";
  }

  private static FanOutReduce<Num, Num, Pair> sumOfSquares(List<Num> leaves) {
    return new FanOutReduce<>(TestTasks.Square.INSTANCE, leaves, TestTasks.Add.INSTANCE, Pair::new);
  }

  private static long runsOf(String type) {
    return TestTasks.runs.stream().filter(run -> run.taskType().equals(type)).count();
  }

  /**
   * Waits until the journal confirmed {@code results} writes (the writer's count): the store's map
   * holds a result as soon as its event is applied, which Pekko does before the write completes, so
   * a node closed on the map's count alone could lose the last write.
   */
  private static void awaitStored(ProverNode node, int results) {
    NodeProcesses.polling(
            "the journal confirmed " + results + " result writes",
            Duration.ofSeconds(30),
            Duration.ofMillis(20))
        .until(() -> TestNodes.await(node.storeStats()).writer().results(), n -> n >= results);
  }

  @Test
  void aNodeStoppedMidWayAndStartedAgainReusesWhatWasStoredAndRunsOnlyTheRest() throws Exception {
    TestTasks.reset();
    String url = database("restart");
    List<Num> leaves = new ArrayList<>(LongStream.rangeClosed(1, 7).mapToObj(Num::of).toList());
    leaves.add(
        new Num(
            8,
            "hold:leaf-8")); // leaf 8 runs but holds until released: the node goes down meanwhile
    try (ProverNode first =
        TestNodes.durableNode("durable-1", url, "").workers(WorkerGroup.allTypes(2, 2)).start()) {
      TestNodes.await(first.ready());
      first.run("sum", sumOfSquares(leaves));
      // leaves 1-7 and the merges 1+2, 3+4, 5+6 and (1..2)+(3..4) do not need leaf 8: 11 results
      awaitStored(first, 11);
      assertEquals(8, runsOf("square"));
      assertEquals(4, runsOf("add"));
      // counted as the flow takes each store's confirmation, which can come just after the
      // writer's count
      TestProbe.create(first.system())
          .awaitAssert(
              Duration.ofSeconds(5),
              () -> {
                Map<String, Long> computed = TaskResultCounts.get(first.system()).computedPerType();
                assertEquals(
                    7L, computed.get("square"), "the results the flow took: leaf 8's holds");
                assertEquals(4L, computed.get("add"));
                return null;
              });
    }
    TestTasks.release("leaf-8");
    TestTasks.runs.clear();

    try (ProverNode second =
        TestNodes.durableNode("durable-2", url, "").workers(WorkerGroup.allTypes(2, 2)).start()) {
      TestNodes.await(second.ready());
      assertEquals(
          11, TestNodes.await(second.storeStats()).results(), "recovered from the journal");
      FlowResult.Completed done = TestNodes.await(second.runWithStats("sum", sumOfSquares(leaves)));
      assertEquals(Num.of(204), done.result(), "sum of squares 1..8");
      assertEquals(11, done.stats().reused(), "every stored result reused");
      assertEquals(Map.of("square", 7, "add", 4), done.stats().reusedPerType());
      assertEquals(
          Map.of("square", 7L, "add", 4L),
          TaskResultCounts.get(second.system()).reusedPerType(),
          "what a job's progress counts as done while it runs");
      assertEquals(
          List.of(
              new TestTasks.Run(
                  "square",
                  8,
                  TestTasks.runs.stream()
                      .filter(r -> r.taskType().equals("square"))
                      .findFirst()
                      .orElseThrow()
                      .workerId())),
          TestTasks.runs.stream().filter(r -> r.taskType().equals("square")).toList(),
          "only leaf 8, which was in flight at the stop, ran again");
      assertEquals(
          3, runsOf("add"), "7+8, (5..6)+(7..8) and the root: the merges that needed leaf 8");
      Map<String, Long> computed = TaskResultCounts.get(second.system()).computedPerType();
      assertEquals(1L, computed.get("square"), "the summary's computed: leaf 8 only");
      assertEquals(3L, computed.get("add"));

      // the flow's name has completed now: asked again, its stored outcome comes back at once
      TestTasks.runs.clear();
      FlowResult.Completed again =
          TestNodes.await(second.runWithStats("sum", sumOfSquares(leaves)));
      assertTrue(again.restored());
      assertEquals(Num.of(204), again.result());
      assertEquals(0, TestTasks.runs.size());
    }
  }

  @Test
  void twoFlowsWithTheSameWorkComputeItOnce() {
    TestTasks.reset();
    try (ProverNode node =
        TestNodes.durableNode("durable-twice", database("twice"), "")
            .workers(WorkerGroup.allTypes(2, 2))
            .start()) {
      TestNodes.await(node.ready());
      List<Num> leaves = LongStream.rangeClosed(1, 16).mapToObj(Num::of).toList();
      CompletableFuture<FlowResult.Completed> a =
          node.runWithStats("a", sumOfSquares(leaves)).toCompletableFuture();
      CompletableFuture<FlowResult.Completed> b =
          node.runWithStats("b", sumOfSquares(leaves)).toCompletableFuture();
      assertEquals(Num.of(1496), TestNodes.await(a).result());
      assertEquals(Num.of(1496), TestNodes.await(b).result());
      assertEquals(16, runsOf("square"), "each leaf ran once for both flows");
      assertEquals(15, runsOf("add"), "each merge ran once for both flows");
      assertEquals(31, a.join().stats().reused() + b.join().stats().reused());
    }
  }

  @Test
  void theStoreEvictsToItsBoundAndTheJournalKeepsOnlyWhatTheLastSnapshotsNeed() throws Exception {
    TestTasks.reset();
    String url = database("bounded");
    String bounds =
        """
        prover.persistence.results { max-entries = 20, snapshot-every = 10, keep-snapshots = 2, results-per-event = 1 }
        """;
    try (ProverNode node =
        TestNodes.durableNode("durable-bounded", url, bounds)
            .workers(WorkerGroup.allTypes(2, 2))
            .start()) {
      TestNodes.await(node.ready());
      for (int flow = 0; flow < 6; flow++) { // 6 x 15 distinct results, one flow after the other
        long base = 1000L * (flow + 1);
        TestNodes.await(
            node.run(
                "f" + flow,
                sumOfSquares(
                    LongStream.rangeClosed(base + 1, base + 8).mapToObj(Num::of).toList())));
      }
      assertEquals(20, TestNodes.await(node.storeStats()).results(), "held down to max-entries");
    }
    try (Connection connection = DriverManager.getConnection(url, "sa", "");
        ResultSet rows =
            connection
                .createStatement()
                .executeQuery(
                    "select count(*) from \"event_journal\" where \"persistence_id\" = 'prover-results'")) {
      rows.next();
      long events = rows.getLong(1);
      // 90 results written; events before the older kept snapshot are deleted: at most 2 x 10 plus
      // the last write
      assertTrue(events <= 2 * 10 + 15, "journal rows left: " + events);
    }
  }
}
