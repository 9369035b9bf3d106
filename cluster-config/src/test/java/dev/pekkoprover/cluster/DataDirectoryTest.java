package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded run's data directory gives its journal's file back the space H2 no longer uses: rows
 * written and deleted leave the file as large as all that was written, and the next start (or the
 * end of a run) compacts it to what is live, which reads back unchanged.
 */
class DataDirectoryTest {
  private static final Pattern COMPACTED =
      Pattern.compile("\\(([\\d,]+) MB, compacted to ([\\d,]+) MB in [\\d.]+ s\\)");

  @Test
  void aResumedJournalIsCompactedToWhatIsLiveAndReadsBackTheSame(@TempDir Path dir)
      throws Exception {
    Config base = ConfigFactory.load();
    Config config =
        DataDirectory.open(dir, false, base, new PrintStream(new ByteArrayOutputStream()));
    Path file = dir.resolve(DataDirectory.JOURNAL + ".mv.db");
    String url = config.getString("prover.journal.url");
    byte[] kept = new byte[24 << 20];
    new Random(7).nextBytes(kept);
    // H2 compacts a little as it closes (MAX_COMPACT_TIME, 200 ms); not here, as after a kill -9 or
    // for a file of a few hundred MB
    try (Connection db = DriverManager.getConnection(url + ";MAX_COMPACT_TIME=0", "sa", "")) {
      // as the result store writes: events of 12 KiB, one commit each, a snapshot of 24 MiB every
      // 500 and the events and snapshots before the previous one deleted (more than the 16 MiB H2
      // moves as it closes)
      for (int seq = 1; seq <= 2000; seq++) {
        try (PreparedStatement insert =
            db.prepareStatement(
                "INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\","
                    + " \"writer\", \"write_timestamp\", \"adapter_manifest\","
                    + " \"event_payload\", \"event_ser_id\", \"event_ser_manifest\")"
                    + " VALUES ('bloat', ?, '', 0, '', ?, 1, '')")) {
          insert.setLong(1, seq);
          insert.setBytes(2, new byte[12 << 10]);
          insert.executeUpdate();
        }
        if (seq % 500 == 0) {
          try (PreparedStatement insert =
              db.prepareStatement(
                  "INSERT INTO \"snapshot\" (\"persistence_id\", \"sequence_number\","
                      + " \"created\", \"snapshot_ser_id\", \"snapshot_ser_manifest\","
                      + " \"snapshot_payload\") VALUES ('bloat', ?, 0, 1, '', ?)")) {
            insert.setLong(1, seq);
            insert.setBytes(2, seq == 2000 ? kept : new byte[24 << 20]);
            insert.executeUpdate();
          }
          db.createStatement()
              .executeUpdate(
                  "DELETE FROM \"event_journal\" WHERE \"sequence_number\" <= " + (seq - 500));
          db.createStatement()
              .executeUpdate("DELETE FROM \"snapshot\" WHERE \"sequence_number\" < " + (seq - 500));
        }
      }
      db.createStatement().execute("SHUTDOWN IMMEDIATELY"); // as a kill -9 leaves it
    }
    long written = Files.size(file);
    assertTrue(written > 100L << 20, "H2 kept what was deleted in its file: " + written);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    DataDirectory.open(dir, false, base, new PrintStream(out, true, StandardCharsets.UTF_8));
    String line = out.toString(StandardCharsets.UTF_8);
    Matcher compacted = COMPACTED.matcher(line);
    assertTrue(compacted.find(), line);
    assertTrue(line.contains("resuming what it holds"), line);
    long after = Files.size(file);
    assertTrue(
        after < 60L << 20, "compacted to what is live (48 MiB, 6 MiB and the tables): " + line);
    assertEquals(
        (after + (1 << 20) - 1) >> 20, Long.parseLong(compacted.group(2).replace(",", "")));

    try (Connection db = DriverManager.getConnection(url, "sa", "");
        ResultSet rows =
            db.createStatement()
                .executeQuery(
                    "SELECT \"sequence_number\", \"snapshot_payload\" FROM \"snapshot\""
                        + " WHERE \"persistence_id\" = 'bloat' ORDER BY 1 DESC")) {
      assertTrue(rows.next());
      assertEquals(2000, rows.getLong(1));
      assertArrayEquals(kept, rows.getBytes(2), "what was live reads back unchanged");
      assertTrue(rows.next());
      assertEquals(1500, rows.getLong(1), "and the one before");
      assertTrue(!rows.next(), "and only those");
    }

    ByteArrayOutputStream end = new ByteArrayOutputStream();
    DataDirectory.compactAfterRun(dir, config, new PrintStream(end, true, StandardCharsets.UTF_8));
    assertTrue(
        end.toString(StandardCharsets.UTF_8)
            .matches(
                "data directory .+: journal [\\d,]+ MB, compacted to [\\d,]+ MB in [\\d.]+ s\\R"),
        end.toString(StandardCharsets.UTF_8));
  }
}
