package dev.pekkoprover.sequencer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.protocol.metrics.ProverMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The event-sourced result store: it evicts down to its bound, and a store started again (snapshot
 * + replay of the events after it) holds exactly what the one before held; writing what it holds
 * adds nothing; the writer batches.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResultStoreTest {
  private final ActorTestKit testKit =
      ActorTestKit.create("result-store", DurableTestConfig.config(""));
  private final StoreSettings settings =
      StoreSettings.fromConfig(testKit.system().settings().config());

  /**
   * 10 entries, a snapshot every 4 events: 25 writes make several snapshots and leave events after
   * the last.
   */
  private final StoreSettings.Bounds bounds = new StoreSettings.Bounds(10, Long.MAX_VALUE, 4, 2);

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private static StoredResult result(int n) {
    return new StoredResult(
        "k" + n, "t", 1, "", ("value " + n).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private record Started(
      ActorRef<ResultStore.Command> store, ResultIndex index, ResultStore.Recovered recovered) {}

  private Started start(String id) {
    ResultIndex index = new ResultIndex();
    TestProbe<ResultStore.Recovered> recovered = testKit.createTestProbe();
    ActorRef<ResultStore.Command> store =
        testKit.spawn(ResultStore.create(id, settings, bounds, index, recovered.getRef()));
    return new Started(store, index, recovered.expectMessageClass(ResultStore.Recovered.class));
  }

  private void write(
      ActorRef<ResultStore.Command> store, List<StoredResult> results, int expectStored) {
    TestProbe<ResultStore.Written> written = testKit.createTestProbe();
    store.tell(new ResultStore.Write(results, written.getRef()));
    assertEquals(expectStored, written.expectMessageClass(ResultStore.Written.class).stored());
  }

  private static List<String> held(ResultIndex index, int upTo) {
    List<String> keys = new ArrayList<>();
    for (int i = 1; i <= upTo; i++) {
      if (index.lookup("k" + i) != null) {
        keys.add("k" + i);
      }
    }
    return keys;
  }

  @Test
  void aDurationInALogLineIsNeverRoundedToZero() {
    // the journal's start-up wait said "Trying again in 0 s" for a backoff configured under 1 s
    assertEquals("250 ms", ResultStore.text(java.time.Duration.ofMillis(250)));
    assertEquals("1500 ms", ResultStore.text(java.time.Duration.ofMillis(1500)));
    assertEquals("10 s", ResultStore.text(java.time.Duration.ofSeconds(10)));
  }

  @Test
  void evictsDownToItsBoundAndAStoreStartedAgainHoldsTheSame() {
    Started first = start("bounded");
    assertEquals(0, first.recovered().entries());
    for (int i = 1; i <= 23; i++) {
      write(first.store(), List.of(result(i)), 1);
    }
    write(
        first.store(),
        List.of(result(24), result(25)),
        2); // one persistAll crossing a snapshot point
    List<String> expected =
        List.of("k16", "k17", "k18", "k19", "k20", "k21", "k22", "k23", "k24", "k25");
    assertEquals(expected, held(first.index(), 25));
    assertEquals(15, first.index().evicted());
    testKit.stop(first.store());

    Started again = start("bounded");
    assertEquals(
        10,
        again.recovered().entries(),
        "recovered from the last snapshot and the events after it");
    assertEquals(expected, held(again.index(), 25));
    assertNull(
        again.index().lookup("k15"), "evicted before the restart: computed again if asked for");
    assertEquals(new String(result(25).bytes()), new String(again.index().lookup("k25").bytes()));

    write(again.store(), List.of(result(25), result(26)), 1); // k25 is held: only k26 is written
    assertNotNull(
        again.index().lookup("k26"),
        "held now: " + held(again.index(), 30) + " size " + again.index().size());
    assertNull(again.index().lookup("k16"), "the oldest made room");
    testKit.stop(again.store());
  }

  @Test
  void aGroupCommitIsWrittenAsEventsOfUpToResultsPerEventAndRecoveredWhole() {
    StoreSettings.Bounds batched =
        new StoreSettings.Bounds(10, Long.MAX_VALUE, 2, 2, 4, Long.MAX_VALUE);
    ResultIndex index = new ResultIndex();
    TestProbe<ResultStore.Recovered> recovered = testKit.createTestProbe();
    ActorRef<ResultStore.Command> store =
        testKit.spawn(ResultStore.create("batched", settings, batched, index, recovered.getRef()));
    recovered.expectMessageClass(ResultStore.Recovered.class);
    List<StoredResult> first = new ArrayList<>();
    for (int i = 1; i <= 9; i++) {
      first.add(result(i));
    }
    write(store, first, 9); // 3 events of 4, 4 and 1: a snapshot after the second
    write(
        store,
        List.of(result(10), result(11), result(12)),
        3); // 1 event: 12 results, the oldest 2 evicted
    List<String> expected = List.of("k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12");
    assertEquals(expected, held(index, 12));
    testKit.stop(store);

    Started again =
        start("batched"); // the same journal, read back by a store of one result per event
    assertEquals(10, again.recovered().entries(), "the snapshot and the batch events after it");
    assertEquals(expected, held(again.index(), 12));
    assertEquals(new String(result(12).bytes()), new String(again.index().lookup("k12").bytes()));
    testKit.stop(again.store());
  }

  @Test
  void theWriterGroupsWhatArrivesWhileAWriteIsInFlight() {
    Started store = start("grouped");
    ActorRef<ResultWriter.Command> writer =
        testKit.spawn(ResultWriter.create(store.store(), "grouped", settings));
    TestProbe<ResultWriter.Stored> acks = testKit.createTestProbe();
    for (int i = 1; i <= 200; i++) {
      writer.tell(new ResultWriter.Put(result(i), acks.getRef(), i));
    }
    int acked = 0;
    while (acked < 200) {
      acked +=
          acks.expectMessageClass(ResultWriter.Stored.class, Duration.ofSeconds(5)).tokens().size();
    }
    TestProbe<ResultWriter.Stats> stats = testKit.createTestProbe();
    writer.tell(new ResultWriter.GetStats(stats.getRef()));
    ResultWriter.Stats seen = stats.expectMessageClass(ResultWriter.Stats.class);
    assertEquals(200, seen.results());
    assertEquals(
        true,
        seen.writes() < 200 && seen.largestBatch() > 1,
        "results that came while a write was in flight were written together: " + seen);
  }

  /** A failure is one line, its causes after it, without H2's advice ("use the server mode"). */
  @Test
  void aFailureIsDescribedOnOneLineWithItsCausesAndWithoutH2sAdvice() {
    Exception locked =
        new java.sql.SQLException(
            "Database may be already in use: \"/data/journal.mv.db\". Possible solutions: close"
                + " all other connection(s); use the server mode [90020-232]",
            new IllegalStateException("The file is locked: /data/journal.mv.db\nat line 2"));
    assertEquals(
        "SQLException: Database may be already in use: \"/data/journal.mv.db\". [90020-232]"
            + " <- IllegalStateException: The file is locked: /data/journal.mv.db",
        ResultStore.describe(locked));
    assertEquals(
        "no answer in time", ResultStore.describe(new java.util.concurrent.TimeoutException()));
    // PostgreSQL's failed batch insert quotes every value; its reason is the cause
    Exception batch =
        new java.sql.BatchUpdateException(
            "Batch entry 0 insert into \"event_journal\" (\"deleted\") values (('FALSE'::boolean),"
                + "'\\x"
                + "bf".repeat(2000)
                + "'::bytea) was aborted: An I/O error occurred while sending to the backend.  Call"
                + " getNextException to see other errors in the batch.",
            new int[0],
            new java.sql.SQLException("An I/O error occurred while sending to the backend."));
    assertEquals(
        "BatchUpdateException: Batch entry 0 insert into \"event_journal\" (\"deleted\") values (...)"
            + " was aborted: An I/O error occurred while sending to the backend.  Call"
            + " getNextException to see other errors in the batch. <- SQLException: An I/O error"
            + " occurred while sending to the backend.",
        ResultStore.describe(batch));
    String long1 = "x".repeat(1000);
    assertEquals(
        "IllegalStateException: " + "x".repeat(300) + "...",
        ResultStore.describe(new IllegalStateException(long1)));
  }

  /**
   * A unique-key violation in a journal write (PostgreSQL's and H2's SQLState 23505, found as a
   * cause or as a batch's next exception) is another writer of the same persistence id: its remedy
   * names the split brain, not the database; every other failure keeps the configured remedy.
   */
  @Test
  void aDuplicateKeyIsNamedAsASecondWriterAndEveryOtherFailureKeepsTheDatabasesRemedy() {
    String configured = "Check that PostgreSQL is up";
    java.sql.SQLException duplicate =
        new java.sql.SQLException(
            "ERROR: duplicate key value violates unique constraint \"event_journal_pkey\"",
            "23505");
    // as the PostgreSQL driver reports it (seen with two writers in NetworkPartitionIT): the batch,
    // the server's error its cause
    java.sql.BatchUpdateException asCause =
        new java.sql.BatchUpdateException(
            "Batch entry 0 ... was aborted", null, 0, new int[0], duplicate);
    java.sql.BatchUpdateException asNext =
        new java.sql.BatchUpdateException("Batch entry 0 ... was aborted", new int[0]);
    asNext.setNextException(
        new java.sql.SQLException("ERROR: duplicate key value violates", "23505"));
    for (Throwable failure :
        List.of(duplicate, asCause, asNext, new IllegalStateException("journal", asCause))) {
      String remedy = ResultStore.remedy(failure, configured);
      assertTrue(
          remedy.startsWith("Another writer stored this store's next events first: two sequencers"),
          remedy);
      assertTrue(remedy.contains("pekko.cluster.split-brain-resolver"), remedy);
    }
    java.sql.BatchUpdateException ioError =
        new java.sql.BatchUpdateException("Batch entry 0 ... was aborted", "08006", 0, new int[0]);
    ioError.setNextException(new java.sql.SQLException("An I/O error occurred", "08006"));
    for (Throwable failure :
        List.of(
            ioError,
            new java.sql.SQLException("ERROR: value too long", "22001"),
            new java.util.concurrent.TimeoutException())) {
      assertEquals(configured, ResultStore.remedy(failure, configured));
    }
  }

  /**
   * A write the journal refuses restarts the store with backoff, and Pekko replays onto the empty
   * state it was given once: what was journaled before is served again (confirmed), the refused
   * write is not, and nothing is counted twice.
   */
  @Test
  void afterARefusedWriteTheRestartedStoreServesWhatWasJournaledBefore() {
    ActorTestKit kit =
        ActorTestKit.create(
            "result-store-refused",
            PersistenceTestKitPlugin.getInstance()
                .config()
                .withFallback(DurableTestConfig.config("")));
    try {
      PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
      ResultIndex index = new ResultIndex();
      TestProbe<ResultStore.Recovered> recovered = kit.createTestProbe();
      ActorRef<ResultStore.Command> store =
          kit.spawn(
              ResultStore.create(
                  "refused",
                  StoreSettings.fromConfig(kit.system().settings().config()),
                  bounds,
                  index,
                  recovered.getRef()));
      assertEquals(0, recovered.expectMessageClass(ResultStore.Recovered.class).entries());
      TestProbe<ResultStore.Written> written = kit.createTestProbe();
      for (int i = 1; i <= 2; i++) {
        store.tell(new ResultStore.Write(List.of(result(i)), written.getRef()));
        assertEquals(1, written.expectMessageClass(ResultStore.Written.class).stored());
      }

      journal.failNextPersisted();
      // its line after the restart says how long it was away, not how long since it first started
      ResultStore.Recovered again =
          LoggingTestKit.info("Result store refused is back ")
              .withMessageRegex(
                  "Result store refused is back \\d+ ms after its journal failed: recovered 2 entries .*")
              .withOccurrences(1)
              .expect(
                  kit.system(),
                  () -> {
                    store.tell(new ResultStore.Write(List.of(result(3)), written.getRef()));
                    return recovered.expectMessageClass(
                        ResultStore.Recovered.class, Duration.ofSeconds(30));
                  });
      written.expectNoMessage(Duration.ofMillis(100)); // never acknowledged
      assertEquals(2, again.entries(), "the two journaled, once each");
      assertEquals(List.of("k1", "k2"), held(index, 3));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * A write refused for a duplicate key (the journal's, when a second sequencer wrote this store's
   * next sequence number first) is logged as that, with the split brain's remedy, and the store
   * reads its journal again, as after any refused write.
   */
  @Test
  void aWriteRefusedForADuplicateKeyIsLoggedAsASecondWriter() {
    ActorTestKit kit =
        ActorTestKit.create(
            "result-store-conflict",
            PersistenceTestKitPlugin.getInstance()
                .config()
                .withFallback(DurableTestConfig.config("")));
    try {
      PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
      TestProbe<ResultStore.Recovered> recovered = kit.createTestProbe();
      ActorRef<ResultStore.Command> store =
          kit.spawn(
              ResultStore.create(
                  "conflict",
                  StoreSettings.fromConfig(kit.system().settings().config()),
                  bounds,
                  new ResultIndex(),
                  recovered.getRef()));
      recovered.expectMessageClass(ResultStore.Recovered.class);
      journal.failNextPersisted(
          new java.sql.BatchUpdateException(
              "Batch entry 0 insert into \"event_journal\" was aborted",
              null,
              0,
              new int[0],
              new java.sql.SQLException(
                  "ERROR: duplicate key value violates unique constraint \"event_journal_pkey\"",
                  "23505")));
      TestProbe<ResultStore.Written> written = kit.createTestProbe();
      LoggingTestKit.error("Result store conflict could not write to ")
          .withMessageRegex(
              ".*duplicate key value violates unique constraint.*\\. Another writer stored this"
                  + " store's next events first: two sequencers wrote to one database at once .*")
          .withOccurrences(1)
          .expect(
              kit.system(),
              () -> {
                store.tell(new ResultStore.Write(List.of(result(1)), written.getRef()));
                return recovered.expectMessageClass(
                    ResultStore.Recovered.class, Duration.ofSeconds(30));
              });
      written.expectNoMessage(Duration.ofMillis(100)); // never acknowledged
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * The writer in front of such a store says the same remedy in its own ERROR, not the database's
   * ("check that PostgreSQL is up"): its cause is only its ask's timeout, and checking the database
   * does not mend a second writer. Its next write is confirmed, and the remedy goes with the
   * failure.
   */
  @Test
  void theWritersErrorForAWriteRefusedForADuplicateKeyNamesTheSecondWriterToo() {
    ActorTestKit kit =
        ActorTestKit.create(
            "result-writer-conflict",
            PersistenceTestKitPlugin.getInstance()
                .config()
                .withFallback(
                    DurableTestConfig.config(
                        // the store's failure must come before the writer's timeout, which is
                        // when the writer reads its remedy: 1 s leaves room for a slow first write
                        "prover.persistence { write-timeout = 1s, retry-interval = 100ms }\n"
                            + "pekko.actor.testkit.typed.filter-leeway = 10s")));
    try {
      PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
      StoreSettings settings = StoreSettings.fromConfig(kit.system().settings().config());
      StoreHealth health =
          new StoreHealth(ProverMetrics.get(kit.system()), "conflict", "PostgreSQL at db:5432");
      TestProbe<ResultStore.Recovered> recovered = kit.createTestProbe();
      ActorRef<ResultStore.Command> store =
          kit.spawn(
              ResultStore.create(
                  "conflict", settings, bounds, new ResultIndex(), recovered.getRef(), health));
      recovered.expectMessageClass(ResultStore.Recovered.class);
      ActorRef<ResultWriter.Command> writer =
          kit.spawn(ResultWriter.create(store, "conflict", settings, health));
      journal.failNextPersisted(
          new java.sql.BatchUpdateException(
              "Batch entry 0 insert into \"event_journal\" was aborted",
              null,
              0,
              new int[0],
              new java.sql.SQLException(
                  "ERROR: duplicate key value violates unique constraint \"event_journal_pkey\"",
                  "23505")));
      TestProbe<ResultWriter.Stored> acks = kit.createTestProbe();
      LoggingTestKit.error("Result store conflict has not confirmed a write for ")
          .withMessageRegex(
              ".*result\\(s\\) wait and are not acknowledged\\. Another writer stored this store's"
                  + " next events first: two sequencers wrote to one database at once .*")
          .withOccurrences(1)
          .expect(
              kit.system(),
              () -> {
                writer.tell(new ResultWriter.Put(result(1), acks.getRef(), 1));
                return null;
              });
      assertEquals(List.of(1L), acks.expectMessageClass(ResultWriter.Stored.class).tokens());
      assertEquals("the configured remedy", health.remedy("the configured remedy"));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /**
   * Snapshots follow bytes as well as events. With a snapshot every 10 events or 10,000 bytes of
   * results, a write counts once per 1,000 bytes: a result of 5,000 bytes is followed by 4 empty
   * events, so two of them bring a snapshot at event 10; what a write leaves uncounted (500 of
   * 1,500 bytes) counts with the next; small results bring the snapshots at 20 and 30 by count. The
   * events before the older kept snapshot are deleted, and a store started again reads back every
   * result.
   */
  @Test
  void aSnapshotComesAfterSnapshotEveryBytesOfResultsAsWellAsAfterSnapshotEveryEvents() {
    StoreSettings.Bounds weighted =
        new StoreSettings.Bounds(100, Long.MAX_VALUE, 10, 2, 1, Long.MAX_VALUE, 10_000);
    assertEquals(1000, weighted.bytesPerEvent());
    assertEquals(0, weighted.fillersFor(1999, 1));
    assertEquals(1, weighted.fillersFor(2000, 1));
    assertEquals(4, weighted.fillersFor(5000, 1));
    assertEquals(3, weighted.fillersFor(5000, 2), "a write of two events: one filler fewer");
    assertEquals(9, weighted.fillersFor(1L << 30, 1), "a snapshot is all a large write needs");
    assertEquals(500, weighted.uncounted(1500, 1, 0));
    assertEquals(0, weighted.uncounted(100, 1, 0), "a small event counts for more than it holds");
    assertEquals(0, weighted.uncounted(1L << 30, 1, 9));
    assertEquals(0, bounds.fillersFor(1L << 30, 1), "by count alone: no fillers");

    ActorTestKit kit =
        ActorTestKit.create(
            "result-store-weighted",
            PersistenceTestKitPlugin.getInstance()
                .config()
                .withFallback(PersistenceTestKitSnapshotPlugin.config())
                .withFallback(DurableTestConfig.config("")));
    try {
      PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
      SnapshotTestKit snapshots = SnapshotTestKit.create(kit.system());
      StoreSettings kitSettings = StoreSettings.fromConfig(kit.system().settings().config());
      TestProbe<ResultStore.Recovered> recovered = kit.createTestProbe();
      TestProbe<ResultStore.Written> written = kit.createTestProbe();
      ActorRef<ResultStore.Command> store =
          kit.spawn(
              ResultStore.create(
                  "weighted", kitSettings, weighted, new ResultIndex(), recovered.getRef()));
      recovered.expectMessageClass(ResultStore.Recovered.class);
      store.tell(new ResultStore.Write(List.of(sized("k1", 5000)), written.getRef()));
      assertEquals(1, written.expectMessageClass(ResultStore.Written.class).stored());
      assertEquals(
          List.of(List.of("k1"), List.of(), List.of(), List.of(), List.of()),
          keysPerEvent(journal, 5),
          "the result's event, then 4 empty ones: 5,000 bytes count for 5 events");
      assertEquals(0, snapshots.persistedInStorage("weighted").size());

      store.tell(new ResultStore.Write(List.of(sized("k2", 5000)), written.getRef()));
      written.expectMessageClass(ResultStore.Written.class);
      keysPerEvent(journal, 5);
      kit.createTestProbe()
          .awaitAssert(
              () -> {
                assertEquals(
                    List.of(10L), snapshotSequenceNumbers(snapshots), "after 10,000 bytes");
                return null;
              });

      store.tell(new ResultStore.Write(List.of(sized("k3", 1500)), written.getRef()));
      written.expectMessageClass(ResultStore.Written.class);
      assertEquals(List.of(List.of("k3")), keysPerEvent(journal, 1), "500 bytes left uncounted");
      store.tell(new ResultStore.Write(List.of(sized("k4", 1500)), written.getRef()));
      written.expectMessageClass(ResultStore.Written.class);
      assertEquals(
          List.of(List.of("k4"), List.of()), keysPerEvent(journal, 2), "2,000 bytes: 2 events");

      for (int i = 5; i <= 21; i++) { // events 14 to 30
        store.tell(new ResultStore.Write(List.of(result(i)), written.getRef()));
        written.expectMessageClass(ResultStore.Written.class);
      }
      kit.createTestProbe()
          .awaitAssert(
              () -> {
                // Pekko deletes the snapshot at 10 with the one at 40
                assertEquals(List.of(10L, 20L, 30L), snapshotSequenceNumbers(snapshots));
                assertEquals(
                    20,
                    journal.persistedInStorage("weighted").size(),
                    "the events before the older kept snapshot deleted");
                return null;
              });
      kit.stop(store);

      ResultIndex index = new ResultIndex();
      kit.spawn(ResultStore.create("weighted", kitSettings, weighted, index, recovered.getRef()));
      assertEquals(21, recovered.expectMessageClass(ResultStore.Recovered.class).entries());
      assertEquals(5000, index.lookup("k1").bytes().length);
      assertEquals(new String(result(21).bytes()), new String(index.lookup("k21").bytes()));
    } finally {
      kit.shutdownTestKit();
    }
  }

  /** The keys of each of the next {@code n} events the store persisted. */
  private static List<List<String>> keysPerEvent(PersistenceTestKit journal, int n) {
    List<List<String>> keys = new ArrayList<>();
    for (StoredBatch event : journal.receivePersisted("weighted", n, StoredBatch.class)) {
      keys.add(event.results().stream().map(StoredResult::key).toList());
    }
    return keys;
  }

  private static StoredResult sized(String key, int bytes) {
    return new StoredResult(key, "t", 1, "", new byte[bytes]);
  }

  private static List<Long> snapshotSequenceNumbers(SnapshotTestKit snapshots) {
    List<Long> seqs = new ArrayList<>();
    for (var snapshot : snapshots.persistedInStorage("weighted")) {
      seqs.add(snapshot.first().sequenceNr());
    }
    return seqs;
  }
}
