package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.QueueCommand.Reports;
import dev.pekkoprover.protocol.QueueCommand.TaskDeclined;
import dev.pekkoprover.protocol.QueueCommand.TaskFailed;
import dev.pekkoprover.protocol.QueueCommand.TaskSucceeded;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Reports gathered per destination and sent as one message each: the lone report itself, several as
 * Reports.
 */
class ReportBatchesTest {
  private final ReportBatches<String> batches = new ReportBatches<>();

  private static TaskSucceeded done(String taskId) {
    return new TaskSucceeded("w1", "i1", taskId, "r1", "square", 1, 4L);
  }

  private static TaskFailed failed(String taskId) {
    return new TaskFailed("w1", "i1", taskId, "r1", "square", 1, "boom", true);
  }

  private static TaskDeclined declined(String taskId) {
    return new TaskDeclined("w1", "i1", taskId, "r1", "add", 1, "not served");
  }

  private Map<String, QueueCommand> flush() {
    Map<String, QueueCommand> sent = new LinkedHashMap<>();
    batches.flush(
        (to, message) -> assertEquals(null, sent.put(to, message), "one message per destination"));
    return sent;
  }

  @Test
  void onlyTheFirstReportSinceAFlushAsksForOne() {
    assertTrue(batches.isEmpty());
    assertTrue(batches.add("a", done("t1")), "the first report of a batch");
    assertFalse(batches.add("b", failed("t2")), "another destination, same batch");
    assertFalse(batches.add("a", declined("t3")));
    assertFalse(batches.isEmpty());
    flush();
    assertTrue(batches.isEmpty());
    assertTrue(batches.add("a", declined("t4")), "the first report after the flush");
  }

  @Test
  void aLoneReportGoesAsItselfAndSeveralAsOneReportsPerDestination() {
    TaskSucceeded lone = done("t1");
    batches.add("lone", lone);
    TaskFailed loneFailure = failed("t2");
    batches.add("lone-failure", loneFailure);
    TaskDeclined loneDecline = declined("t3");
    batches.add("lone-decline", loneDecline);
    batches.add("many", done("t4"));
    batches.add("many", failed("t5"));
    batches.add("many", done("t6"));
    batches.add("many", declined("t7"));

    Map<String, QueueCommand> sent = flush();
    assertEquals(
        List.of("lone", "lone-failure", "lone-decline", "many"),
        new ArrayList<>(sent.keySet()),
        "destinations in the order of their first report");
    assertSame(lone, sent.get("lone"));
    assertSame(loneFailure, sent.get("lone-failure"));
    assertSame(loneDecline, sent.get("lone-decline"));
    Reports many = (Reports) sent.get("many");
    assertEquals(
        List.of("t4", "t6"), many.succeeded().stream().map(TaskSucceeded::taskId).toList());
    assertEquals(List.of("t5"), many.failed().stream().map(TaskFailed::taskId).toList());
    assertEquals(List.of("t7"), many.declined().stream().map(TaskDeclined::taskId).toList());
  }

  @Test
  void aFlushSendsEachReportOnceAndAnEmptyOneSendsNothing() {
    batches.add("a", done("t1"));
    assertEquals(1, flush().size());
    assertEquals(Map.of(), flush(), "nothing left after a flush");
    batches.add("a", done("t2"));
    batches.add("a", done("t3"));
    assertEquals(2, ((Reports) flush().get("a")).size(), "only what came since the last flush");
  }

  @Test
  void oneDestinationCanGoAloneAndTheOthersWaitForTheFlush() {
    batches.add("a", done("t1"));
    batches.add("b", done("t2"));
    batches.add("a", failed("t3"));
    assertEquals(2, batches.size("a"));
    assertEquals(0, batches.size("c"));

    Map<String, QueueCommand> alone = new LinkedHashMap<>();
    batches.flush("a", alone::put);
    assertEquals(List.of("t1", "t3"), ids((Reports) alone.get("a")));
    assertEquals(1, alone.size(), "b's report is not sent with a's");
    assertEquals(0, batches.size("a"));
    batches.flush("a", (to, message) -> alone.put("again", message));
    assertFalse(alone.containsKey("again"), "nothing waits for a any more");

    assertFalse(batches.add("a", done("t4")), "b's batch still waits: no second flush asked for");
    Map<String, QueueCommand> rest = flush();
    assertEquals(List.of("b", "a"), new ArrayList<>(rest.keySet()));
    assertEquals("t4", ((TaskSucceeded) rest.get("a")).taskId());
    assertTrue(batches.isEmpty());
    assertTrue(batches.add("b", done("t5")), "the first report after the flush asks again");
  }

  private static List<String> ids(Reports reports) {
    List<String> ids = new ArrayList<>();
    reports.succeeded().forEach(r -> ids.add(r.taskId()));
    reports.failed().forEach(r -> ids.add(r.taskId()));
    reports.declined().forEach(r -> ids.add(r.taskId()));
    return ids;
  }
}
