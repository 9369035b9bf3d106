package dev.pekkoprover.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.SeedJoinRetry;
import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node that is not the first of its seeds joins at the next {@code join-retry-every} once a seed
 * is a member, not after Pekko's {@code seed-node-timeout}. Here that timeout is 60 s: Pekko alone
 * would not ask again within the test's 20 s, so the join is the retry's doing. The seed answers
 * the node's first {@code InitJoin} while it is not yet a member itself ({@code InitJoinNack}, its
 * log line is awaited), as a seed still forming the cluster does; then it joins itself.
 */
@ExtendWith(LogCapturingExtension.class)
class SeedJoinRetryTest {
  private static final String SYSTEM = "prover";

  private final List<ActorTestKit> kits = new ArrayList<>();

  @AfterEach
  void stop() {
    for (int i = kits.size() - 1; i >= 0; i--) {
      kits.get(i).shutdownTestKit();
    }
  }

  private static Config config(String seeds) {
    return ConfigFactory.parseString(
            "pekko.actor.provider = cluster\n"
                + "pekko.remote.artery.transport = tcp\n"
                + "pekko.remote.artery.canonical.hostname = 127.0.0.1\n"
                + "pekko.remote.artery.canonical.port = 0\n"
                + "pekko.cluster.jmx.enabled = off\n"
                + "pekko.cluster.seed-node-timeout = 60s\n"
                // the log expectation's window opens as the joiner starts, and a loaded host may
                // take
                // seconds for its start and its first handshake
                + "pekko.actor.testkit.typed.filter-leeway = 15s\n"
                + "pekko.cluster.seed-nodes = ["
                + seeds
                + "]\n")
        .withFallback(TestConfig.config());
  }

  private ActorTestKit start(String seeds) {
    ActorTestKit kit = ActorTestKit.create(SYSTEM, config(seeds));
    kits.add(kit);
    return kit;
  }

  private static Address address(ActorTestKit kit) {
    return Cluster.get(kit.system()).selfMember().address();
  }

  @Test
  void aNodeTheSeedTurnedAwayWhileUnformedJoinsAtTheNextRetryAndThenStops() {
    ActorTestKit seed = start(""); // not a member until told: it answers InitJoin with a nack
    String seedAddress = address(seed).toString();
    List<ActorTestKit> joiner = new ArrayList<>();
    LoggingTestKit.info("but this node is not initialized yet")
        .expect(seed.system(), () -> joiner.add(start("\"" + seedAddress + "\"")));
    ActorTestKit node = joiner.get(0);
    ActorRef<SeedJoinRetry.Tick> retry =
        node.spawn(SeedJoinRetry.create(node.system().settings().config()), "seed-join-retry");
    TestProbe<Object> watcher = node.createTestProbe();

    Cluster.get(seed.system()).manager().tell(Join.create(address(seed)));

    watcher.awaitAssert(
        Duration.ofSeconds(20),
        () -> {
          MemberStatus status = Cluster.get(node.system()).selfMember().status();
          if (status != MemberStatus.up()) {
            throw new AssertionError("the node is " + status + ", not Up");
          }
          return null;
        });
    watcher.expectTerminated(retry, Duration.ofSeconds(5));
  }

  @Test
  void theFirstSeedAndANodeWithoutSeedsHaveNothingToRetry() {
    ActorTestKit node = start("");
    String self = address(node).toString();
    Config firstSeed =
        ConfigFactory.parseString(
                "pekko.cluster.seed-nodes = [\"" + self + "\", \"pekko://prover@127.0.0.1:1\"]")
            .withFallback(node.system().settings().config());
    TestProbe<Object> watcher = node.createTestProbe();
    ActorRef<SeedJoinRetry.Tick> first = node.spawn(SeedJoinRetry.create(firstSeed));
    ActorRef<SeedJoinRetry.Tick> none =
        node.spawn(SeedJoinRetry.create(node.system().settings().config()));
    watcher.expectTerminated(first, Duration.ofSeconds(5));
    watcher.expectTerminated(none, Duration.ofSeconds(5));
  }

  /**
   * Each retry restarts Pekko's {@code shutdown-after-unsuccessful-join-seed-nodes} deadline, so
   * where that limit is set the retries end once it has passed: here 1.5 s, so after the first
   * retry (at 1 s) the second (3 s after start) finds it passed and stops. Without the limit the
   * retries would go on every 5 s.
   */
  @Test
  void theRetriesEndWhenPekkosJoinLimitHasPassed() {
    ActorTestKit node = start("");
    Config limited =
        ConfigFactory.parseString(
                "pekko.cluster.seed-nodes = [\"pekko://prover@127.0.0.1:1\"]\n"
                    + "pekko.cluster.shutdown-after-unsuccessful-join-seed-nodes = 1500ms")
            .withFallback(node.system().settings().config());
    TestProbe<Object> watcher = node.createTestProbe();
    ActorRef<SeedJoinRetry.Tick> retry = node.spawn(SeedJoinRetry.create(limited));
    watcher.expectTerminated(retry, Duration.ofSeconds(10));
  }
}
