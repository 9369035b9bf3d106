package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverNode;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The line each node logs once it is Up ({@code WaitingForPeers}) names the members it knows then,
 * itself among them. It read them from {@code Cluster.state}, a view that another subscriber
 * updates and that can lag this node's own MemberUp event: a seed node then logged "Up in the
 * cluster of 0 member(s): []" (4 of the 91 node processes of a CI run on 2026-12-03). The lag is
 * rare, so without the fix this test fails only now and then; with it the line is built from the
 * events themselves and holds every time.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UpLineTest {
  /** Only a place for the log expectations to run: the appender sees every system's events. */
  private final ActorTestKit anchor = ActorTestKit.create("up-line-anchor");

  @AfterAll
  void stop() {
    anchor.shutdownTestKit();
  }

  @Test
  void theSeedNamesItselfAndTheNextNodeNamesBoth() {
    try (ClusterNodes cluster = new ClusterNodes()) {
      ProverNode seed =
          LoggingTestKit.custom(
                  event ->
                      Pattern.matches(
                          "node (\\S+) is Up in the cluster of 1 member\\(s\\): \\[\\1\\]",
                          event.message()))
              .expect(
                  anchor.system(),
                  () -> cluster.start("A", "queue", "", b -> b.catalog(TestNodes.catalog())));
      String first = ProverNode.hostPort(Cluster.get(seed.system()).selfMember().address());
      LoggingTestKit.custom(
              event ->
                  Pattern.matches(
                      "node (\\S+) is Up in the cluster of 2 member\\(s\\): \\[("
                          + Pattern.quote(first)
                          + ", \\1|\\1, "
                          + Pattern.quote(first)
                          + ")\\]",
                      event.message()))
          .expect(
              anchor.system(),
              () -> cluster.start("B", "worker", "", b -> b.catalog(TestNodes.catalog())));
    }
  }
}
