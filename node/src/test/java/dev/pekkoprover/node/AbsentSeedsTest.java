package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Which seeds count as ones where nothing listens: a seed, no member (as any node of the JVM sees
 * it), and for the lines refused within the last 15 s.
 */
class AbsentSeedsTest {
  private static final long SECOND = 1_000_000_000L;

  @BeforeEach
  @AfterEach
  void forget() {
    AbsentSeeds.clear();
  }

  @Test
  void aSeedThatRefusesWhileNoMemberIsAbsentUntilItJoinsOrItsRefusalIsOld() {
    AbsentSeeds.seeds(List.of("h:1", "h:2"));
    assertFalse(AbsentSeeds.connectionRefused("h:3", 0), "no seed");
    assertTrue(AbsentSeeds.connectionRefused("h:2", 0));
    assertTrue(AbsentSeeds.refused("h:2", 30 * SECOND));
    assertFalse(AbsentSeeds.refused("h:2", 31 * SECOND), "runs now, but answers no handshake");
    assertFalse(AbsentSeeds.refused("h:1", 0), "never refused");
    assertEquals(List.of("h:2"), AbsentSeeds.refusedSeeds(15 * SECOND));
    assertEquals(List.of(), AbsentSeeds.refusedSeeds(16 * SECOND), "nothing refused for 16 s");
    assertTrue(AbsentSeeds.refused("h:2", 20 * SECOND), "the handshake timeout goes with it");

    AbsentSeeds.memberAdded("h:2"); // it started and joined
    assertFalse(AbsentSeeds.refused("h:2", 20 * SECOND));
    assertFalse(AbsentSeeds.connectionRefused("h:2", 20 * SECOND), "a member's refusal is a fault");
    assertEquals(List.of(), AbsentSeeds.refusedSeeds(20 * SECOND));
  }

  @Test
  void aMemberSeenByTwoNodesOfTheJvmIsGoneOnlyOnceBothRemovedIt() {
    AbsentSeeds.seeds(List.of("h:1"));
    AbsentSeeds.memberAdded("h:1");
    AbsentSeeds.memberAdded("h:1");
    AbsentSeeds.memberRemoved("h:1");
    assertFalse(AbsentSeeds.connectionRefused("h:1", 0), "the other node still sees it");
    AbsentSeeds.memberRemoved("h:1");
    assertTrue(AbsentSeeds.connectionRefused("h:1", 0), "removed by both: nothing listens");
    assertEquals(List.of("h:1"), AbsentSeeds.refusedSeeds(SECOND));
  }

  /** The seeds as the filter finds them in Pekko's lines: host:port, an IPv6 host in brackets. */
  @Test
  void seedsAreReadAsHostAndPortAsPekkosLinesWriteThem() {
    assertEquals(
        List.of("127.0.0.1:2551", "prover-0.prover:2551", "[::1]:2552"),
        WaitingForPeers.seeds(
            ConfigFactory.parseString(
                "pekko.cluster.seed-nodes = [\"pekko://prover@127.0.0.1:2551\","
                    + " \"pekko://prover@prover-0.prover:2551\", \"pekko://prover@[::1]:2552\"]")));
  }
}
