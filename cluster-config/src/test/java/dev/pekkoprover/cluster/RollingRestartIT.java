package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * A rolling restart of the queue tier, as an operator runs it: real node processes from the jar
 * with the shipped {@code cluster.conf} (TLS on): S ({@code sequencer,queue}), Q ({@code queue})
 * and two worker nodes prove {@value #BLOCKS} blocks; once some are proven Q gets SIGTERM (its
 * shards are handed off to S, then it leaves) and a replacement queue node joins. The run ends
 * {@code RESULT OK} with the direct roots, and Q exits with code 0.
 *
 * <p>What the test is about: the workers hear that Q's entities stop when their shards are handed
 * off, not when Q is removed (Pekko's death watch sends nothing from a node whose
 * CoordinatedShutdown has begun), so their reports and load (naming the tasks they compute for
 * those entities) reach the entities' new life before S sends Q's tasks again. It asserts, from the
 * workers' DEBUG line for each stopped entity, that every worker heard of each of Q's entities that
 * handed it tasks before S's re-send; that no worker cancelled a task (a copy handed out before the
 * worker's report came would be cancelled); and that no node logged a WARN or ERROR, in particular
 * no task put back. It also asserts that S heard Q leave (Q tells it as its shutdown begins) before
 * any worker heard of an entity's stop, that is before the hand-off: the cluster's Leaving event
 * comes after it, and a check answered in between would be a WARN. The second case stops two queue
 * nodes at once.
 *
 * <p>The workers log {@code dev.pekkoprover.worker.Worker} at DEBUG (the shipped logback.xml with
 * that one logger added), and the queue nodes start with {@code --queue-nodes}, so that the
 * entities are placed once they have all joined (see {@link #stopQueueNodesMidRun}); the rest is
 * the shipped configuration. Every node's output is written to {@code
 * target/it-logs/RollingRestartIT/<test>}.
 */
class RollingRestartIT {
  private static final int BLOCKS = 40;

  /** The sequencer's progress line. */
  private static final Pattern PROGRESS = Pattern.compile("proving: blocks (\\d+)/(\\d+) proven");

  /** A worker's DEBUG line for a queue entity that stopped, with the entity's address and path. */
  private static final Pattern ENTITY_STOPPED =
      Pattern.compile(
          "Worker (\\S+): queue entity (\\S+) stopped; reports of the (\\d+) task\\(s\\) it"
              + " handed out");

  private static final Pattern ALARM = Pattern.compile("^\\S+ (WARN|ERROR) ");

  /**
   * Pekko's failure detector saying a heartbeat came late (1.4 s instead of 1 s: a fresh-clone CI
   * run of 2026-12-05 on this 2-core machine, while four JVMs shut down and start): the machine's
   * load, not the hand-off this test is about. A node actually found unreachable still fails it
   * ({@code Marking node as UNREACHABLE} is a WARN of its own, and its tasks are put back).
   */
  private static boolean lateHeartbeat(String line) {
    return line.contains("PhiAccrualFailureDetector - heartbeat interval is growing too large");
  }

  private NodeProcesses processes;
  private Path logs;

  /**
   * Each test's node outputs in a directory of its own: {@code
   * target/it-logs/RollingRestartIT/<test>}.
   */
  @BeforeEach
  void outputsPerTest(TestInfo test) {
    logs =
        NodeProcesses.logDirectory(
            "RollingRestartIT/" + test.getTestMethod().map(m -> m.getName()).orElse("test"));
    processes = new NodeProcesses(logs);
  }

  @AfterEach
  void killEverything() throws InterruptedException {
    processes.close();
  }

  /** At least {@code min} blocks proven and not all. */
  private static boolean provenAtLeast(String line, int min) {
    Matcher progress = PROGRESS.matcher(line);
    return progress.find()
        && Integer.parseInt(progress.group(1)) >= min
        && Integer.parseInt(progress.group(1)) < Integer.parseInt(progress.group(2));
  }

  /** The shipped logback.xml with the worker's DEBUG lines on, written where the test's logs go. */
  private Path workerDebugLogback() throws IOException {
    String shipped;
    try (InputStream in = RollingRestartIT.class.getResourceAsStream("/logback.xml")) {
      assertNotNull(in, "the shipped logback.xml is on the test class path");
      shipped = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String anchor = "<logger name=\"org.apache.pekko\" level=\"WARN\"/>";
    assertTrue(shipped.contains(anchor), "the shipped logback.xml names Pekko's logger");
    Path file = logs.resolve("logback-worker-debug.xml");
    Files.createDirectories(file.getParent());
    Files.writeString(
        file,
        shipped.replace(
            anchor,
            anchor + "\n  <logger name=\"dev.pekkoprover.worker.Worker\" level=\"DEBUG\"/>"));
    return file;
  }

  @Test
  void theWorkersHearOfTheLeavingQueueNodesEntitiesStoppingBeforeTheirTasksAreSentAgain()
      throws Exception {
    stopQueueNodesMidRun(1);
  }

  /**
   * Two queue nodes stopped at once (an operator restarting the queue tier two by two, or a
   * deployment tool that does not wait): both hand their shards off at the same time, and the
   * coordinator on S places them on S (a region that shuts down gets none), later ones on the
   * replacement too; every assertion of the one-node case holds for each stopped node.
   */
  @Test
  void twoQueueNodesStoppedAtOnceHandTheirEntitiesOffWithNothingComputedTwice() throws Exception {
    stopQueueNodesMidRun(2);
  }

  /** A queue node on a free port, joining through {@code seed}, with {@code --queue-nodes}. */
  private NodeProcesses.Node launchQueueNode(String seed, String queueNodes) throws Exception {
    return processes.launch(
        "node",
        "--roles",
        "queue",
        "--port",
        "" + NodeProcesses.freePort(),
        "--queue-nodes",
        queueNodes,
        "--seeds",
        seed);
  }

  /**
   * S, {@code leaving} queue nodes and two workers; once 5 blocks are proven the queue nodes get
   * SIGTERM at once, and after they exited one replacement queue node joins.
   */
  private void stopQueueNodesMidRun(int leaving) throws Exception {
    int seedPort = NodeProcesses.freePort();
    String seed = "127.0.0.1:" + seedPort;
    // S's start-up sends to every task type's entity at once, which starts them all on the queue
    // nodes registered then and never moves them (no rebalancing): were they placed before the
    // queue nodes joined, those would hold nothing to hand off. So the first placement waits for
    // them (--queue-nodes, given to every queue node alike, as docs/deployment.md says).
    String queueNodes = "" + (1 + leaving);
    NodeProcesses.Node sequencer =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + seedPort,
            "--queue-nodes",
            queueNodes,
            "--blocks",
            "" + BLOCKS,
            "--txs",
            "8",
            "--proving-work",
            "100000",
            "--exit-when-done");
    List<NodeProcesses.Node> queues = new ArrayList<>();
    for (int i = 0; i < leaving; i++) {
      queues.add(launchQueueNode(seed, queueNodes));
    }
    for (NodeProcesses.Node queue : queues) {
      assertTrue(
          queue.awaitLine(line -> line.contains("is Up in the cluster"), 60),
          "Q joined:\n" + queue.tail(20));
    }
    // the queue nodes are Up before the workers register: the entities started from then on are
    // spread over S and them, the proving types among them
    List<String> debug = List.of("-Dlogback.configurationFile=" + workerDebugLogback());
    List<NodeProcesses.Node> workers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      workers.add(
          processes.launch(
              debug,
              List.of(
                  "node",
                  "--roles",
                  "worker",
                  "--port",
                  "" + NodeProcesses.freePort(),
                  "--seeds",
                  seed)));
    }

    assertTrue(
        sequencer.awaitLine(line -> provenAtLeast(line, 5), 180),
        "blocks being proven:\n" + sequencer.tail(30));
    long stoppedAt = System.currentTimeMillis();
    for (NodeProcesses.Node queue : queues) {
      queue.process().destroy(); // SIGTERM: hand-off, then leave
    }
    for (NodeProcesses.Node queue : queues) {
      assertTrue(queue.awaitExit(60), "Q exited:\n" + queue.tail(30));
      assertEquals(0, queue.process().exitValue(), queue.tail(30));
    }
    NodeProcesses.Node replacement = launchQueueNode(seed, queueNodes);

    assertTrue(sequencer.awaitExit(240), "the run ended:\n" + sequencer.tail(60));
    assertEquals(0, sequencer.process().exitValue(), sequencer.tail(60));
    NodeProcesses.assertResultOk(sequencer, BLOCKS);

    // each worker's first line per entity of a stopped queue node: when it heard that entity
    // stop, and how many tasks of that entity it held then; each before S's re-send for that node
    Map<String, Long> heard = new LinkedHashMap<>();
    long earliestBefore = Long.MAX_VALUE;
    long latestBefore = Long.MIN_VALUE;
    int heldFromQ = 0;
    for (NodeProcesses.Node queue : queues) {
      String queueAddress = "pekko://prover@127.0.0.1:" + queue.arg("--port");
      List<NodeProcesses.Line> resends =
          sequencer.linesWhere(
              text ->
                  text.contains("Queue node " + queueAddress + " left: ")
                      && text.contains("re-send"));
      assertEquals(
          1, resends.size(), "S re-sent " + queueAddress + "'s tasks once:\n" + sequencer.tail(60));
      long resent = resends.get(0).millis();
      // the queue node told S it leaves as its shutdown began, before its hand-off
      List<NodeProcesses.Line> leaves =
          sequencer.linesWhere(text -> text.contains("Queue node " + queueAddress + " leaves: "));
      assertEquals(
          1, leaves.size(), "S said once that " + queueAddress + " leaves:\n" + sequencer.tail(60));
      long toldLeaving = leaves.get(0).millis();
      for (NodeProcesses.Node worker : workers) {
        for (NodeProcesses.Line line : worker.linesWhere(text -> text.contains(queueAddress))) {
          Matcher stopped = ENTITY_STOPPED.matcher(line.text());
          if (stopped.find()
              && stopped.group(2).startsWith(queueAddress + "/")
              && heard.putIfAbsent(stopped.group(1) + " " + stopped.group(2), line.millis())
                  == null) {
            heldFromQ += Integer.parseInt(stopped.group(3));
            assertTrue(
                toldLeaving <= line.millis(),
                "S heard that "
                    + queueAddress
                    + " leaves "
                    + (toldLeaving - line.millis())
                    + " ms after "
                    + stopped.group(1)
                    + " heard of its entity's stop, not before its hand-off");
            assertTrue(
                line.millis() < resent,
                stopped.group(1)
                    + " "
                    + stopped.group(2)
                    + " heard of the stop "
                    + (line.millis() - resent)
                    + " ms after S's re-send, not before it");
            earliestBefore = Math.min(earliestBefore, resent - line.millis());
            latestBefore = Math.max(latestBefore, resent - line.millis());
          }
        }
      }
    }
    assertFalse(heard.isEmpty(), "Q's entities had handed the workers tasks: none heard of");

    // every task a worker held for Q's entities was sent again by S and handed back to that worker
    // by the entity's new life (its compute going on, or its result kept), not computed again
    long handedBack =
        sequencer.linesWhere(text -> text.contains("handed back to worker")).size()
            + replacement.linesWhere(text -> text.contains("handed back to worker")).size();
    assertTrue(
        handedBack >= heldFromQ,
        handedBack
            + " task(s) handed back, but the workers held "
            + heldFromQ
            + " of Q's entities when they stopped:\n"
            + sequencer.tail(60));

    // from the SIGTERM to S's summary (after it, S leaves and the others see it go)
    long summary = sequencer.linesWhere(text -> text.equals("== summary ==")).get(0).millis();
    List<String> trouble = new ArrayList<>();
    List<NodeProcesses.Node> nodes = new ArrayList<>(List.of(sequencer, replacement));
    nodes.addAll(queues);
    nodes.addAll(workers);
    for (NodeProcesses.Node node : nodes) {
      for (NodeProcesses.Line line :
          node.linesWhere(
              text ->
                  (ALARM.matcher(text).find() && !lateHeartbeat(text))
                      || text.contains("cancels task(s)")
                      || text.contains("put back"))) {
        if (line.millis() >= stoppedAt && line.millis() <= summary) {
          trouble.add(node.arg("--port") + ": " + line.text());
        }
      }
    }
    assertEquals(
        List.of(),
        trouble,
        "from Q's SIGTERM to S's summary: no copy cancelled, no task put back, no WARN or ERROR");
    System.out.printf(
        "RollingRestartIT (%d queue node(s) stopped): %d task(s) held for their entities at their"
            + " stop, %d handed back; %d (worker, entity) pairs heard of the stop %d to %d ms"
            + " before S's re-send%n",
        leaving, heldFromQ, handedBack, heard.size(), earliestBefore, latestBefore);
  }
}
