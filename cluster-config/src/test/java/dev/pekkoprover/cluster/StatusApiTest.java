package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.StatusReport;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET /status} of a node in one JVM, and the {@code status} command on it: the workers with
 * their state and class, the queues, a running flow's progress, a failed task among the recent
 * failures; the command's tables; its one-line answers to bad input and to an address where nothing
 * listens.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusApiTest {
  private ProverNode node;

  @AfterEach
  void stop() {
    TestTasks.reset();
    if (node != null) {
      node.close();
    }
  }

  private StatusReport status() {
    return TestNodes.status(node);
  }

  record Run(int code, String out, String err) {}

  private static Run command(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    boolean json = List.of(args).contains("--json");
    int code =
        StatusClient.run(
            args.length == 0 || args[0].equals("--json") ? null : args[0],
            json,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theStatusShowsWorkersQueuesFlowsAndFailures() throws Exception {
    TestTasks.reset();
    node =
        TestNodes.node("status", "prover.http.enabled = on\nprover.queue.max-attempts = 1")
            .workers(WorkerGroup.allTypes(2, 1))
            .start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());

    // a flow whose one leaf fails for good, and one that runs while the test looks
    CompletableFuture<?> doomed =
        node.run(
                "doomed",
                new FanOutReduce<>(
                    TestTasks.Square.INSTANCE,
                    List.of(new Num(4, "permanent")),
                    TestTasks.Add.INSTANCE,
                    Pair::new))
            .toCompletableFuture();
    // ... failed before the held flow starts: two flows' tasks reach the queue in no fixed order,
    // and the held leaves
    // must find both workers free (each then holds one) with the third leaf left pending
    ExecutionException failed =
        assertThrows(ExecutionException.class, () -> doomed.get(10, TimeUnit.SECONDS));
    assertTrue(
        String.valueOf(failed.getCause().getMessage()).contains("simulated bad input"),
        failed.toString());
    node.run(
        "held",
        new FanOutReduce<>(
            TestTasks.Square.INSTANCE,
            List.of(new Num(2, "hold:s"), new Num(3, "hold:s"), new Num(5, "")),
            TestTasks.Add.INSTANCE,
            Pair::new));
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              StatusReport report = status();
              assertEquals(StatusReport.VERSION, report.version());
              assertTrue(report.problems().isEmpty(), report.problems().toString());
              assertTrue(report.node().ready());
              assertEquals("local", report.node().memberStatus());
              assertEquals(2, report.workers().size());
              for (StatusReport.WorkerRow worker : report.workers()) {
                assertEquals("ready", worker.state());
                assertEquals(List.of("add", "compile", "square"), worker.workerClass());
                assertEquals(1, worker.inFlight(), worker.toString()); // each holds one leaf
                assertTrue(worker.lastHeardSecondsAgo() < 30, worker.toString());
              }
              StatusReport.QueueRow squares =
                  report.queues().stream()
                      .filter(q -> q.taskType().equals("square"))
                      .findFirst()
                      .orElseThrow();
              assertEquals(2, squares.inFlight());
              assertEquals(1, squares.pending());
              assertEquals(1, squares.failed());
              assertEquals(2, squares.workers());
              assertEquals(0, squares.runs()); // the failed one's run is not a completed task's
              StatusReport.QueueRow compiles =
                  report.queues().stream()
                      .filter(q -> q.taskType().equals("compile"))
                      .findFirst()
                      .orElseThrow();
              assertTrue(compiles.runs() >= 1, compiles.toString());
              assertEquals(
                  compiles.meanRunSeconds() * compiles.runs(), compiles.runSecondsTotal(), 1e-6);
              assertTrue(compiles.waitSecondsTotal() >= 0, compiles.toString());
              assertTrue(report.flows().available());
              assertEquals(1, report.flows().running());
              assertEquals(1, report.flows().failed());
              StatusReport.FlowRow held = report.flows().list().get(0);
              assertTrue(held.flowId().startsWith("held"), held.toString());
              assertEquals(3, held.tasksPushed());
              assertEquals(0, held.tasksAnswered());
              assertTrue(
                  report.recentFailures().stream()
                      .anyMatch(
                          f ->
                              f.kind().equals("failed")
                                  && "square".equals(f.taskType())
                                  && f.reason().contains("simulated bad input")),
                  report.toString());
              assertTrue(
                  report.recentFailures().stream().anyMatch(f -> f.kind().equals("flow failed")),
                  report.toString());
              assertFalse(report.autoscale().isEmpty());
              return null;
            });

    String address = node.httpUrl().orElseThrow().substring("http://".length());
    Run tables = command(address);
    assertEquals(0, tables.code(), tables.err());
    assertTrue(tables.out().contains("workers: 2"), tables.out());
    assertTrue(tables.out().contains(node.nodeId() + "-w1"), tables.out());
    assertTrue(tables.out().contains("ready"), tables.out());
    assertTrue(tables.out().contains("flows: run"), tables.out());
    assertTrue(tables.out().contains("simulated bad input"), tables.out());
    Run json = command(address, "--json");
    assertEquals(0, json.code());
    assertNotNull(
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out()).get("workers"));
    TestTasks.release("s");
  }

  /**
   * A flow that needs a type no worker in the fleet serves waits for one (it is never failed for
   * want of a worker): {@code /status} names the type as a problem, and the problem ends once a
   * worker that serves it comes. A trial's library flow waited with no sign at all.
   */
  @Test
  void tasksNoWorkerWillRunAreAProblemUntilOneComes() throws Exception {
    TestTasks.reset();
    node =
        TestNodes.node("unserved", "prover.http.enabled = on")
            .workers(WorkerGroup.of(1, List.of("compile", "square"), 2))
            .start();
    ActorTestKit kit = ActorTestKit.create(node.system());
    TestNodes.await(node.ready());
    CompletableFuture<Num> sum =
        node.run("unserved", TestNodes.sumOfSquares(2, 3)).toCompletableFuture();
    // named once its task has waited UnservedTypes.PROBLEM_AFTER (10 s)
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            () -> {
              List<String> problems = status().problems();
              assertTrue(
                  problems.stream()
                      .anyMatch(
                          p ->
                              p.startsWith("no worker serves task type add (1 pending")
                                  && p.contains("start one")),
                  problems.toString());
              return null;
            });
    assertFalse(sum.isDone(), "the flow waits for a worker, it is not failed");
    node.addWorker(List.of("compile", "add"), 1);
    assertEquals(13, sum.get(30, TimeUnit.SECONDS).value());
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            () -> {
              assertEquals(List.of(), status().problems());
              return null;
            });
  }

  /** A node in its last second answers /status with 503 and why: the command says that. */
  @Test
  void aNodeThatShutsDownIsSaidSoNotMistakenForAnotherPort() throws Exception {
    com.sun.net.httpserver.HttpServer stopping =
        com.sun.net.httpserver.HttpServer.create(
            new java.net.InetSocketAddress(java.net.InetAddress.getByName("127.0.0.1"), 0), 0);
    stopping.createContext(
        "/status",
        exchange -> {
          byte[] body =
              "{\"error\":\"the node is shutting down: ask another node\"}"
                  .getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(503, body.length);
          exchange.getResponseBody().write(body);
          exchange.close();
        });
    stopping.start();
    try {
      Run run = command("127.0.0.1:" + stopping.getAddress().getPort());
      assertEquals(StatusClient.NO_STATUS, run.code());
      assertTrue(
          run.err().contains("answered HTTP 503: the node is shutting down: ask another node"),
          run.err());
    } finally {
      stopping.stop(0);
    }
  }

  @Test
  void badInputAndASilentAddressGetOneLineAndANonZeroCode() throws Exception {
    Run missing = command();
    assertEquals(StatusClient.BAD_INPUT, missing.code());
    Run noPort = command("127.0.0.1");
    assertEquals(StatusClient.BAD_INPUT, noPort.code());
    assertTrue(noPort.err().contains("--node must be host:port"), noPort.err());
    Run badPort = command("127.0.0.1:http");
    assertEquals(StatusClient.BAD_INPUT, badPort.code());
    int free = NodeProcesses.freePort();
    Run nobody = command("127.0.0.1:" + free);
    assertEquals(StatusClient.NO_STATUS, nobody.code());
    assertTrue(
        nobody.err().contains("nothing is listening at http://127.0.0.1:" + free + "/status"),
        nobody.err());
    // a port that takes the connection and closes it without a byte, as a node's cluster port
    // (Artery) does with an HTTP request: the likeliest mix-up, said in the line
    Run notHttp;
    java.net.ServerSocket clusterLike =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"));
    Thread closer =
        new Thread(
            () -> {
              try { // every connection: the client retries a GET once
                while (true) {
                  clusterLike.accept().close();
                }
              } catch (java.io.IOException closed) {
                // the test is done with it
              }
            });
    closer.start();
    try {
      notHttp = command("127.0.0.1:" + clusterLike.getLocalPort());
    } finally {
      clusterLike.close();
      closer.join(5000);
    }
    assertEquals(StatusClient.NO_STATUS, notHttp.code());
    assertTrue(
        notHttp.err().contains("if this is its cluster --port, not its HTTP port"), notHttp.err());
    for (Run run : List.of(missing, noPort, badPort, nobody, notHttp)) {
      assertEquals(1, run.err().strip().lines().count(), "one line: " + run.err());
      assertEquals("", run.out());
    }
  }
}
