package dev.pekkoprover.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * Cluster members formed in this JVM: actor systems with the cluster provider that join each other.
 */
public final class ClusterKits {
  private ClusterKits() {}

  /**
   * A member on a free port with the test settings ({@link TestConfig}) and {@code overrides} (e.g.
   * its roles), joined to itself, or to {@code seed}'s cluster; the caller shuts it down.
   */
  public static ActorTestKit member(String systemName, String overrides, ActorTestKit seed) {
    ActorTestKit kit =
        ActorTestKit.create(
            systemName,
            TestConfig.config(
                overrides
                    + "\npekko.actor.provider = cluster\n"
                    + "pekko.remote.artery.canonical.port = 0\n"
                    + "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on"));
    ActorTestKit joinTo = seed == null ? kit : seed;
    Cluster.get(kit.system())
        .manager()
        .tell(Join.create(Cluster.get(joinTo.system()).selfMember().address()));
    return kit;
  }

  /** Waits (20 s at most) until {@code kit} sees exactly {@code members} members Up. */
  public static void awaitUp(ActorTestKit kit, int members) {
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(20),
            () -> {
              long up = 0;
              for (Member m : Cluster.get(kit.system()).state().getMembers()) {
                if (m.status() == MemberStatus.up()) {
                  up++;
                }
              }
              assertEquals(members, up, "members Up");
              return null;
            });
  }
}
