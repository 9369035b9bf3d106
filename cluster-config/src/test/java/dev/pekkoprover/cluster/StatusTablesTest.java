package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.StatusReport;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The status command's queue table tells the faults among the tasks put back from the normal. */
class StatusTablesTest {

  @Test
  void theHeaderSaysWhereTheSequencerRunsAndAnOlderReportWithoutItStillReads() throws Exception {
    List<String> roles = List.of("queue", "sequencer", "stateful");
    assertEquals(
        "  sequencer active",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("a:1", roles, "Up", true, null, "active", "a:1")));
    assertEquals(
        "  sequencer standby (runs on a:1)",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("b:2", roles, "Up", true, null, "standby", "a:1")));
    assertEquals(
        "  sequencer standby (starting here)", // a report of a build before 'starting'
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("b:2", roles, "Up", true, null, "standby", "b:2")));
    assertEquals(
        "  sequencer starting here",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("b:2", roles, "Up", true, null, "starting", "b:2")));
    assertEquals(
        "  sequencer standby",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("b:2", roles, "Joining", false, "joining", "standby", null)),
        "no sequencer node Up yet");
    assertEquals(
        "",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("w:3", List.of("worker"), "Up", true, null)));
    assertEquals(
        "  sequencer on a:1",
        StatusTables.sequencerCell(
            new StatusReport.NodeInfo("w:3", List.of("worker"), "Up", true, null, null, "a:1")),
        "a node without role sequencer says where it runs");
    // JSON both ways, and a report of a build before the field (null: nothing shown)
    StatusReport.NodeInfo standby =
        new StatusReport.NodeInfo("b:2", roles, "Up", true, null, "standby", "a:1");
    String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(standby);
    assertEquals(
        standby,
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readValue(json, StatusReport.NodeInfo.class));
    StatusReport.NodeInfo older =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readValue(
                "{\"address\":\"b:2\",\"roles\":[\"sequencer\"],\"memberStatus\":\"Up\","
                    + "\"ready\":true,\"readyReason\":null}",
                StatusReport.NodeInfo.class);
    assertEquals("", StatusTables.sequencerCell(older));
    // and a report of a later build, with a field this one does not know, still reads
    StatusReport.NodeInfo later =
        StatusReport.fromJson(
                "{\"version\":1,\"node\":{\"address\":\"b:2\",\"roles\":[],"
                    + "\"memberStatus\":\"Up\",\"ready\":true,\"someLaterField\":3},"
                    + "\"someLaterSection\":{}}")
            .node();
    assertEquals("b:2", later.address());
  }

  @Test
  void tasksPutBackAreSplitIntoLostAndDeclined() {
    StatusReport.QueueRow proofs =
        new StatusReport.QueueRow(
            "BlockProvingTask", 0, 1, 40, 0, 2, 12, 7, 4, 1, 0, 2, 0.5, 0, 40, 20.0, 3.0, null);
    StatusReport report =
        new StatusReport(
            StatusReport.VERSION,
            "2026-12-05T20:00:00Z",
            new StatusReport.NodeInfo("127.0.0.1:2551", List.of("queue"), "Up", true, null),
            List.of(),
            List.of(),
            List.of(proofs),
            new StatusReport.FlowsInfo(false, null, false, 0, 0, 0, List.of()),
            List.of(),
            List.of(),
            List.of());
    List<String> lines = StatusTables.render(report).lines().toList();
    int header = lines.indexOf("queues") + 1;
    List<String> columns = List.of(lines.get(header).trim().split("\\s{2,}"));
    List<String> cells = List.of(lines.get(header + 1).trim().split("\\s{2,}"));
    assertEquals(
        List.of(
            "TYPE",
            "PENDING",
            "IN FLIGHT",
            "DONE",
            "FAILED",
            "RETRIED",
            "LOST",
            "DECLINED",
            "WORKERS",
            "MEAN RUN",
            "OLDEST WAIT"),
        columns);
    assertEquals("2", cells.get(columns.indexOf("RETRIED")));
    assertEquals("5", cells.get(columns.indexOf("LOST")), "4 lost and 1 lease overrun");
    assertEquals("7", cells.get(columns.indexOf("DECLINED")), "handed back, normal");
    assertTrue(cells.get(columns.indexOf("MEAN RUN")).startsWith("0.5"), cells.toString());
  }

  @Test
  void aQueueShownAsItLastAnsweredIsMarkedAndTheMarkSaysHowOld() {
    StatusReport.QueueRow fresh =
        new StatusReport.QueueRow(
            "BlockProvingTask", 3, 1, 40, 0, 0, 0, 0, 0, 0, 0, 2, 0.5, 1, 40, 20.0, 3.0, null);
    StatusReport.QueueRow carried =
        new StatusReport.QueueRow(
            "RuntimeProvingTask", 900, 2, 10, 0, 0, 0, 0, 0, 0, 0, 2, 1.0, 4, 10, 10.0, 3.0, 6.4);
    StatusReport report =
        new StatusReport(
            StatusReport.VERSION,
            "2026-12-07T18:00:00Z",
            new StatusReport.NodeInfo("127.0.0.1:2551", List.of("sequencer"), "Up", true, null),
            List.of(),
            List.of(),
            List.of(fresh, carried),
            new StatusReport.FlowsInfo(false, null, false, 0, 0, 0, List.of()),
            List.of(),
            List.of(),
            List.of());
    List<String> lines = StatusTables.render(report).lines().toList();
    int header = lines.indexOf("queues") + 1;
    assertTrue(lines.get(header + 1).trim().startsWith("BlockProvingTask  "), lines.toString());
    assertTrue(lines.get(header + 2).trim().startsWith("RuntimeProvingTask *"), lines.toString());
    assertEquals(
        "* as its queue last answered, up to 6 s ago: its queue node did not answer in time (see"
            + " problems)",
        lines.get(header + 3));
  }
}
