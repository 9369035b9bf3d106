package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sequencer's PostgreSQL down, with real processes and the shipped configuration (write-timeout
 * 10 s): a sequencer+queue node and two worker nodes, the database stopped (PostgreSQL's fast
 * shutdown, connections cut) before the node starts and again in the middle of proving.
 *
 * <p>Before it starts the node waits for the database and says so where a supervisor looks: {@code
 * /health/alive} 200 (no liveness restart), {@code /health/ready} 503 naming the database, {@code
 * /status} 503 with the same reason, and the {@code status} command prints it; a node stopped by
 * SIGTERM while it waits exits 0 with one line. Stopped mid-run, the node stays ready (it loses
 * nothing and a restart would not bring the database back) and {@code /status} and {@code /metrics}
 * name the store that does not confirm its writes. Once the database is back the run ends RESULT OK
 * with the direct computation's root and every task computed exactly once: no result was lost or
 * proven twice.
 *
 * <p>Needs a database it may stop: {@code PROVER_TEST_OUTAGE_DB_URL} and {@code
 * PROVER_TEST_OUTAGE_DB_CTL} ({@link TestDatabase#outageOrSkip}; {@code .ci/run} makes a second
 * PostgreSQL cluster for it); skipped without.
 */
class DatabaseOutageIT {
  /**
   * How soon after the database answers again the store must confirm a write: its restart backoff
   * (at most 10 s, plus 20% random) and the breakers' 2 s reset, with room for a loaded machine.
   */
  private static final Duration BACK_WITHIN = Duration.ofSeconds(25);

  private static final Duration SECOND = Duration.ofSeconds(1);

  private final NodeProcesses processes =
      new NodeProcesses(NodeProcesses.logDirectory("DatabaseOutageIT"));
  private TestDatabase.Outage outage;

  @AfterEach
  void killEverythingAndStartTheDatabase() throws Exception {
    processes.close();
    if (outage != null) {
      outage.start(); // for the next run, whatever happened
    }
  }

  @Test
  void theJournalDatabaseDownAtStartAndMidRunIsSeenAndLosesNothing() throws Exception {
    outage = TestDatabase.outageOrSkip();
    TestDatabase database = outage.database();
    outage.start();
    database.wipe();
    outage.stop();

    int[] ports = {NodeProcesses.freePort(), NodeProcesses.freePort(), NodeProcesses.freePort()};
    int http = NodeProcesses.freePort();
    String seeds = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1] + ",127.0.0.1:" + ports[2];
    NodeProcesses.Node sequencer =
        processes.launch(
            DatabaseDrill.sequencerCommand(ports[0], seeds, http, database.url(), database));
    String base = "http://127.0.0.1:" + http;

    // 1. the database down at start: alive, not ready, and why
    assertTrue(
        sequencer.awaitLine(
            line ->
                line.startsWith(
                        "node 127.0.0.1:"
                            + ports[0]
                            + " waits for its journal database (the journal database PostgreSQL ")
                    && line.contains(" does not answer (")
                    && line.contains(base + "/health/ready (503 with the reason)"),
            120),
        sequencer.output());
    String doesNotAnswer = "the journal database PostgreSQL " + database.url() + " does not answer";
    assertEquals(200, Http.get(base + "/health/alive").status());
    // the line comes after a 2 s grace, which a slow first attempt can outlast: its failure is what
    // says "does not answer"
    Http.Answer ready =
        NodeProcesses.polling(
                "the first attempt's failure", Duration.ofSeconds(60), Duration.ofMillis(200))
            .until(
                () -> Http.get(base + "/health/ready"),
                answer -> answer.body().contains(doesNotAnswer));
    assertEquals(503, ready.status(), ready.body());
    Http.Answer status = Http.get(base + "/status");
    assertEquals(503, status.status(), status.body());
    assertTrue(status.body().contains("\"starting\" : true"), status.body());
    assertTrue(status.body().contains(doesNotAnswer), status.body());
    NodeProcesses.Node command = processes.launch("status", "--node", "127.0.0.1:" + http);
    assertTrue(command.awaitExit(60), command.output());
    command.awaitLine(line -> false, 1); // let the reader drain the last lines
    assertEquals(StatusClient.NO_STATUS, command.process().exitValue(), command.output());
    assertTrue(
        command.output().contains("has not started yet: " + doesNotAnswer), command.output());

    // a node stopped while it waits: it started nothing, so it exits 0 with one line, as a node
    // stopped after its start does (143, a supervisor's failure, before)
    int waiterPort = NodeProcesses.freePort();
    NodeProcesses.Node waiter =
        processes.launch(
            "node",
            "--roles",
            "sequencer,queue",
            "--port",
            "" + waiterPort,
            "--seeds",
            "127.0.0.1:" + waiterPort,
            "--db-url",
            database.url(),
            "--db-user",
            database.user(),
            "--db-password",
            database.password());
    assertTrue(
        waiter.awaitLine(line -> line.contains(" waits for its journal database ("), 120),
        waiter.output());
    waiter.process().toHandle().destroy(); // SIGTERM
    assertTrue(waiter.awaitExit(30), waiter.output());
    assertEquals(0, waiter.process().exitValue(), waiter.output());
    assertTrue(
        waiter
            .output()
            .contains(
                "node 127.0.0.1:"
                    + waiterPort
                    + " stopped by SIGTERM while it waited for its journal database PostgreSQL "
                    + database.url()
                    + ": it had not started, so nothing was left to finish; exiting with code 0"),
        waiter.output());

    processes.launch("node", "--roles", "worker", "--port", "" + ports[1], "--seeds", seeds);
    processes.launch("node", "--roles", "worker", "--port", "" + ports[2], "--seeds", seeds);
    outage.start();
    assertTrue(
        sequencer.awaitLine(
            line -> line.contains("The journal database PostgreSQL " + database.url() + " answers"),
            120),
        sequencer.output());

    // 2. stopped again mid-run: ready still, and /status and /metrics name the store
    assertTrue(
        sequencer.awaitLine(
            line ->
                line.startsWith("proving:")
                    && DurableClusterIT.tasksDone(line) >= DurableClusterIT.TASKS / 4,
            300),
        sequencer.output());
    List<String> beforeStop = new ArrayList<>(sequencer.lines());
    outage.stop();
    StatusReport stalled = DatabaseDrill.awaitStoreProblem(base, "PostgreSQL " + database.url());
    assertTrue(stalled.node().ready(), "ready: it loses nothing, " + stalled);
    assertEquals(200, Http.get(base + "/health/ready").status());
    String metrics = Http.get(base + "/metrics").body();
    assertTrue(
        Http.sum(metrics, "prover_store_oldest_unconfirmed_write_seconds") >= 10,
        "the shipped write-timeout (10 s) has passed:\n" + metrics);
    // the job's progress says it too, and counts no result the store has not confirmed
    // (the first line may name the flow-outcome store, whose write can time out first)
    Predicate<String> heldUpLine =
        line ->
            line.startsWith("held up")
                && line.contains("the sequencer's store prover-results has not confirmed a write");
    assertTrue(sequencer.awaitLine(heldUpLine, 10), sequencer.tail(40));
    // down for 35 s in all: long enough for the stores' restart backoff to reach its maximum and
    // for the journal plugins' circuit breakers to open (a trial's 29 s outage was followed by
    // 84 s more without a confirmed write, the breakers' 30 s and 60 s resets added to the backoff)
    NodeProcesses.polling(
            "the store's oldest unconfirmed write 35 s old", Duration.ofSeconds(90), SECOND)
        .until(
            () ->
                Http.sum(
                        Http.get(base + "/metrics").body(),
                        "prover_store_oldest_unconfirmed_write_seconds")
                    >= 35);
    outage.start();
    long back = System.nanoTime();
    assertTrue(
        sequencer.awaitLine(
            line -> line.contains("Result store prover-results confirms writes again"),
            BACK_WITHIN.toSeconds()),
        "the run goes on within "
            + BACK_WITHIN
            + " of the database answering (restart backoff at most 10 s, breakers reset after 2 s):\n"
            + sequencer.output());
    System.out.printf(
        "DatabaseOutageIT: the store confirmed writes %.1f s after PostgreSQL answered again%n",
        (System.nanoTime() - back) / 1e9);
    List<String> lines = new ArrayList<>(sequencer.lines());
    int heldUp = indexOf(lines, heldUpLine, 0);
    int confirmed = indexOf(lines, line -> line.contains("confirms writes again"), heldUp);
    List<Long> doneWhileHeldUp =
        lines.subList(heldUp, confirmed).stream()
            .filter(line -> line.startsWith("proving:"))
            .map(DurableClusterIT::tasksDone)
            .distinct()
            .toList();
    assertTrue(
        doneWhileHeldUp.size() <= 1,
        "tasks done stand still while no write is confirmed: " + doneWhileHeldUp);
    // and they leave out the results that wait: since the last line before the database stopped
    // they grew by what was confirmed in that last second, not by the results that came after
    long doneBeforeStop =
        DurableClusterIT.tasksDone(
            beforeStop.stream()
                .filter(line -> line.startsWith("proving:"))
                .reduce((a, b) -> b)
                .get());
    Matcher waiting = Pattern.compile("(\\d+) result\\(s\\) wait").matcher(lines.get(heldUp));
    assertTrue(waiting.find(), lines.get(heldUp));
    long unconfirmed = Long.parseLong(waiting.group(1));
    long doneHeldUp =
        DurableClusterIT.tasksDone(
            lines.subList(heldUp, lines.size()).stream()
                .filter(line -> line.startsWith("proving:"))
                .findFirst()
                .get());
    assertTrue(
        doneHeldUp - doneBeforeStop < unconfirmed / 2,
        "counted "
            + (doneHeldUp - doneBeforeStop)
            + " more results after the database stopped, with "
            + unconfirmed
            + " unconfirmed");
    assertTrue(
        sequencer.awaitLine(line -> line.equals("no longer held up: proving goes on"), 15),
        sequencer.tail(40));

    // 3. back: the run ends with the right root, every task computed once
    assertTrue(sequencer.awaitExit(300), sequencer.output());
    String output = sequencer.output();
    assertEquals(0, sequencer.process().exitValue(), output);
    assertTrue(output.contains("RESULT OK"), output);
    Matcher roots = DurableClusterIT.ROOTS.matcher(output);
    assertTrue(roots.find(), output);
    assertEquals(roots.group(2), roots.group(1), "the proven root is the direct computation's");
    assertEquals(
        DurableClusterIT.TASKS,
        DurableClusterIT.tasksComputed(output),
        "every task computed exactly once, none lost in the outage:\n" + output);
  }

  /** The index of the first line from {@code from} on that passes {@code test}; fails if none. */
  private static int indexOf(List<String> lines, Predicate<String> test, int from) {
    for (int i = from; i < lines.size(); i++) {
      if (test.test(lines.get(i))) {
        return i;
      }
    }
    throw new AssertionError("no such line after line " + from + ":\n" + String.join("\n", lines));
  }
}
