package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The shipped figures that bound how long a run waits after its journal database answers again
 * (README, "When the database fails"; {@code DatabaseOutageIT} measures it with real processes):
 * the stores' restart backoff at most 10 s, and the journal plugins' circuit breakers, which fail
 * every call at once while open, reset after 2 s instead of Pekko's 30 s (journal) and 60 s
 * (snapshots). A trial with Pekko's resets waited 84 s after a 29 s PostgreSQL outage.
 */
class JournalOutageBoundsTest {
  @Test
  void aSequencerNodesJournalRetriesWithinAboutTwelveSecondsOfTheDatabaseAnswering() {
    Config config =
        PostgresJournal.config(
            "jdbc:postgresql://127.0.0.1:5432/prover", "prover", "secret", ConfigFactory.load());
    assertEquals(
        Duration.ofSeconds(2), config.getDuration("jdbc-journal.circuit-breaker.reset-timeout"));
    assertEquals(
        Duration.ofSeconds(2),
        config.getDuration("jdbc-snapshot-store.circuit-breaker.reset-timeout"));
    assertEquals(
        Duration.ofSeconds(10), config.getDuration("prover.persistence.restart.max-backoff"));
    assertEquals(0.2, config.getDouble("prover.persistence.restart.random-factor"));
  }
}
