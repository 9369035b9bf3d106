package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.NamedTaskType;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.sequencer.StartupPlan;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.CompileRequest;
import dev.pekkoprover.testing.TestTasks.Keys;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue 11, "what it must show" 4: {@code /health/ready} is 503 with the reason until the node's
 * worker-ready gate is open, in a cluster the member is Up, and no hold of the application (the
 * appchain service's, until its chain answers) is left, then 200; {@code /health/alive} is 200
 * throughout.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealthProbesTest {

  /**
   * A circuit compiler that waits for the test: until it returns, no worker can register, so none
   * is Ready.
   */
  static final class HeldCompile extends NamedTaskType<CompileRequest, Keys> {
    static final HeldCompile INSTANCE = new HeldCompile();
    static final CountDownLatch RELEASE = new CountDownLatch(1);

    HeldCompile() {
      super("compile", CompileRequest.class, Keys.class);
    }

    @Override
    public boolean isUnprepared() {
      return true;
    }

    @Override
    public Keys compute(CompileRequest input, TaskContext context) throws Exception {
      if (!RELEASE.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never released");
      }
      return new Keys("test-key");
    }
  }

  private static void assertAlive(ProverNode node) {
    Http.Answer alive = Http.get(node.httpUrl().orElseThrow() + "/health/alive");
    assertEquals(200, alive.status(), alive.body());
    assertTrue(alive.body().contains("\"alive\" : true"), alive.body());
  }

  @Test
  void notReadyUntilTheWorkerReadyGateOpensAliveThroughout() {
    try (ProverNode node =
        ProverNode.builder("health")
            .config(TestConfig.config("prover.http.enabled = on\n" + TestNodes.FAST))
            .catalog(
                TaskCatalog.of(
                    HeldCompile.INSTANCE, TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE))
            .localQueue()
            .sequencer(
                StartupPlan.of(
                    HeldCompile.INSTANCE,
                    List.of(new CompileRequest("square")),
                    results -> results.get(0)))
            .workers(WorkerGroup.allTypes(2, 1))
            .start()) {
      String url = node.httpUrl().orElseThrow();
      assertTrue(url.startsWith("http://127.0.0.1:"), "loopback by default: " + url);
      Http.Answer ready = Http.get(url + "/health/ready");
      assertEquals(503, ready.status(), ready.body());
      assertTrue(ready.body().contains("worker-ready gate is closed"), ready.body());
      assertAlive(node);

      HeldCompile.RELEASE
          .countDown(); // compilation ends: the workers register, prepare and are Ready
      ActorTestKit.create(node.system())
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(15),
              () -> {
                Http.Answer now = Http.get(url + "/health/ready");
                assertEquals(200, now.status(), now.body());
                assertTrue(now.body().contains("\"ready\" : true"), now.body());
                return null;
              });
      assertAlive(node);
    }
  }

  @Test
  void anApplicationsHoldKeepsTheNodeNotReadyUntilItIsReleased() {
    String hold = "the test's release";
    try (ProverNode node =
        ProverNode.builder("health-hold")
            .config(TestConfig.config("prover.http.enabled = on\n" + TestNodes.FAST))
            .catalog(TestNodes.catalog())
            .localQueue()
            .holdReadiness(hold)
            .start()) {
      String url = node.httpUrl().orElseThrow();
      // no worker: the gate is open at once, so only the hold keeps it from being ready
      Http.Answer ready = Http.get(url + "/health/ready");
      assertEquals(503, ready.status(), ready.body());
      assertTrue(ready.body().contains("waiting for " + hold), ready.body());
      assertAlive(node);

      node.releaseReadiness(hold);
      Http.Answer now = Http.get(url + "/health/ready");
      assertEquals(200, now.status(), now.body());
      node.releaseReadiness(hold); // twice: nothing changes
      assertEquals(200, Http.get(url + "/health/ready").status());
    }
  }

  @Test
  void aClusterNodeIsNotReadyUntilItsMemberIsUp() throws Exception {
    // a queue node without workers (its gate is open at once) that has not joined any cluster yet
    try (ProverNode node =
        ProverNode.builder(ClusterNodes.SYSTEM)
            .config(ClusterNodes.config("queue", "prover.http.enabled = on"))
            .catalog(TestNodes.catalog())
            .clusterQueue()
            .start()) {
      String url = node.httpUrl().orElseThrow();
      Http.Answer ready = Http.get(url + "/health/ready");
      assertEquals(503, ready.status(), ready.body());
      assertTrue(
          ready.body().contains("not a member of the cluster yet: joining through its seeds"),
          ready.body());
      assertAlive(node);
      assertEquals(
          ProverNode.NOT_JOINED, memberStatus(url), "not Pekko's Removed, which reads as its end");

      Cluster cluster = Cluster.get(node.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      ActorTestKit.create(node.system())
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(15),
              () -> {
                Http.Answer now = Http.get(url + "/health/ready");
                assertEquals(200, now.status(), now.body());
                return null;
              });
      assertAlive(node);
      assertEquals("Up", memberStatus(url));
    }
  }

  private static String memberStatus(String url) throws java.io.IOException {
    Http.Answer status = Http.get(url + "/status");
    assertEquals(200, status.status(), status.body());
    return dev.pekkoprover.node.StatusReport.fromJson(status.body()).node().memberStatus();
  }

  @Test
  void aWorkerNodeOutsideItsClusterSaysSoRatherThanThatItsWorkersAreNotReady() {
    // its workers cannot be Ready before it joins: the reason a trial saw, "the worker-ready gate
    // is closed", pointed at the workers rather than at the join
    try (ProverNode node =
        ProverNode.builder(ClusterNodes.SYSTEM)
            .config(ClusterNodes.config("worker", "prover.http.enabled = on"))
            .catalog(TestNodes.catalog())
            .clusterQueue()
            .workers(WorkerGroup.allTypes(1, 1))
            .start()) {
      Http.Answer ready = Http.get(node.httpUrl().orElseThrow() + "/health/ready");
      assertEquals(503, ready.status(), ready.body());
      assertTrue(
          ready.body().contains("not a member of the cluster yet: joining through its seeds"),
          ready.body());
    }
  }
}
