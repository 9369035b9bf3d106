package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.sequencer.NodeProblems;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The journal's database goes away mid-run (an H2 server in this JVM, stopped and started again):
 * the store says so in ERROR lines naming the database and what to do, no result is acknowledged
 * while it is down (the flow's callbacks wait, so nothing after the leaves is pushed), and once it
 * is back the run goes on and ends with the right root, nothing computed twice.
 */
@ExtendWith(LogCapturingExtension.class)
class StoreFailureTest {

  private static final String FAST_FAILURE =
      """
      prover.persistence.write-timeout = 1s
      prover.persistence.retry-interval = 200ms
      prover.persistence.restart { min-backoff = 200ms, max-backoff = 1s }
      pekko-persistence-jdbc.shared-databases.prover.db.connectionTimeout = 1000
      pekko-persistence-jdbc.shared-databases.prover.db.validationTimeout = 500
      """;

  private static long runsOf(String type) {
    return TestTasks.runs.stream().filter(run -> run.taskType().equals(type)).count();
  }

  @Test
  void aDatabaseDownAtStartIsWaitedForWithAnErrorLineAndTheNodeStartsWhenItIsBack()
      throws Exception {
    int port = NodeProcesses.freePort();
    String[] serverArgs = {"-tcpPort", String.valueOf(port), "-ifNotExists"};
    Server server = Server.createTcpServer(serverArgs).start();
    String url = "jdbc:h2:tcp://localhost:" + port + "/mem:down-at-start;DB_CLOSE_DELAY=-1";
    ProverNode.Builder builder =
        TestNodes.durableNode("down-at-start", url, FAST_FAILURE) // creates the tables
            .workers(WorkerGroup.allTypes(1, 1));
    server.stop();
    try (ProverNode node = builder.start()) {
      CompletableFuture<Void> ready = node.ready().toCompletableFuture();
      // both stores log it, once per recovery attempt: more than one line is expected
      LoggingTestKit.error("cannot read its journal in H2 database " + url)
          .withCheckExcess(false)
          .expect(node.system(), () -> null);
      assertFalse(ready.isDone(), "start-up waits for the stores: no flow runs without them");
      server = Server.createTcpServer(serverArgs).start();
      ready.get(30, TimeUnit.SECONDS);
      assertEquals(
          Num.of(25),
          TestNodes.await(
              node.run(
                  "after-start",
                  new FanOutReduce<>(
                      TestTasks.Square.INSTANCE,
                      List.of(Num.of(3), Num.of(4)),
                      TestTasks.Add.INSTANCE,
                      Pair::new))));
    } finally {
      server.stop();
    }
  }

  @Test
  void whileTheDatabaseIsDownNothingIsAcknowledgedAndWhenItIsBackTheRunGoesOn() throws Exception {
    TestTasks.reset();
    int port = NodeProcesses.freePort();
    String[] serverArgs = {"-tcpPort", String.valueOf(port), "-ifNotExists"};
    Server server = Server.createTcpServer(serverArgs).start();
    String url = "jdbc:h2:tcp://localhost:" + port + "/mem:store-failure;DB_CLOSE_DELAY=-1";
    try (ProverNode node =
        TestNodes.durableNode("store-failure", url, FAST_FAILURE + "prover.http.enabled = on\n")
            .workers(WorkerGroup.allTypes(2, 2))
            .start()) {
      TestNodes.await(node.ready());
      server.stop(); // the database goes away

      List<Num> leaves = LongStream.rangeClosed(1, 4).mapToObj(Num::of).toList();
      AtomicReference<CompletableFuture<FlowResult.Completed>> run = new AtomicReference<>();
      LoggingTestKit.error("H2 database " + url)
          .withCheckExcess(false)
          .expect(
              node.system(),
              () -> {
                run.set(
                    node.runWithStats(
                            "while-down",
                            new FanOutReduce<>(
                                TestTasks.Square.INSTANCE,
                                leaves,
                                TestTasks.Add.INSTANCE,
                                Pair::new))
                        .toCompletableFuture());
                return null;
              });
      NodeProcesses.polling("the 4 leaves computed", Duration.ofSeconds(20), Duration.ofMillis(20))
          .until(() -> runsOf("square"), runs -> runs >= 4);
      // a write of those results has timed out (write-timeout 1 s) and is being repeated: still
      // nothing acknowledged
      NodeProcesses.polling(
              "a write to the stopped database failed",
              Duration.ofSeconds(20),
              Duration.ofMillis(20))
          .until(() -> TestNodes.await(node.storeStats()).writer().failedWrites(), n -> n >= 1);
      assertFalse(run.get().isDone(), "nothing acknowledged while the store cannot write");
      // the outage shows where an operator looks: the status's problems and the store's meters;
      // the node stays ready (it loses nothing, and a restart would not bring the database back)
      String http = node.httpUrl().orElseThrow();
      // a part beside the sequencer (the appchain service's journal) reports through NodeProblems
      NodeProblems.get(node.system()).register("beside", () -> "a part beside it is down");
      StatusReport down = StatusReport.fromJson(Http.get(http + "/status").body());
      NodeProblems.get(node.system()).unregister("beside");
      assertTrue(down.problems().contains("a part beside it is down"), down.problems().toString());
      assertTrue(
          down.problems().stream()
              .anyMatch(
                  p ->
                      p.startsWith("the sequencer's store ")
                          && p.contains("-results has not confirmed a write for ")
                          && p.contains("(H2 database " + url + ")")),
          down.problems().toString());
      assertEquals(200, Http.get(http + "/health/ready").status());
      assertTrue(
          Http.get(http + "/metrics")
              .body()
              .lines()
              .anyMatch(
                  l ->
                      l.startsWith("prover_store_oldest_unconfirmed_write_seconds{store=\"")
                          && l.contains("-results\"}")
                          && Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)) >= 1.0),
          "the results store's write waits over its 1 s write timeout");
      assertEquals(
          0, runsOf("add"), "no callback ran: the merges that need the leaves were never pushed");

      server = Server.createTcpServer(serverArgs).start(); // and comes back
      FlowResult.Completed done = run.get().get(60, TimeUnit.SECONDS);
      assertEquals(Num.of(30), done.result());
      assertEquals(4, runsOf("square"), "no leaf computed twice");
      assertEquals(3, runsOf("add"));
      assertEquals(7, TestNodes.await(node.storeStats()).results(), "every result stored");
      assertEquals(
          List.of(),
          StatusReport.fromJson(Http.get(http + "/status").body()).problems(),
          "no problem once the store confirms again");
    } finally {
      server.stop();
    }
  }
}
