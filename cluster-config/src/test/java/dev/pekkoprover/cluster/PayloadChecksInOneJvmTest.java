package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOutReduce;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.testing.TestConfig;
import dev.pekkoprover.testing.TestTasks;
import dev.pekkoprover.testing.TestTasks.Num;
import dev.pekkoprover.testing.TestTasks.Pair;
import dev.pekkoprover.testing.TestTasks.Text;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code prover.queue.check-payloads-in-one-jvm}: in one JVM no value crosses a node, so by default
 * an input or result over the size limit, or one that cannot be read back, succeeds (a plugin
 * author's trial found this only once deployed); with the setting on, the embedded queue and
 * workers check them as a cluster's queue front and workers do, with the same reasons, and what
 * passes still computes right (it travels as bytes, decoded by the worker and the flow).
 * Serialize-messages off, as in production: on, Pekko would serialise the messages themselves. The
 * unreadable input is {@link ClusterFailureClassesTest}'s, which fails the same way across nodes.
 */
@ExtendWith(LogCapturingExtension.class)
class PayloadChecksInOneJvmTest {

  private record EchoOnce(Text input) implements FlowLogic<Text> {
    @Override
    public void start(dev.pekkoprover.protocol.flow.FlowScope<Text> scope) {
      scope.push(TestTasks.Echo.INSTANCE, input, scope::complete);
    }
  }

  private static ProverNode node(String name, String checks) {
    ProverNode node =
        ProverNode.builder(name)
            .config(
                TestConfig.config(
                    "pekko.actor.serialize-messages = off\n" + checks + "\n" + TestNodes.FAST))
            .catalog(
                TaskCatalog.of(
                    TestTasks.Square.INSTANCE,
                    TestTasks.Add.INSTANCE,
                    TestTasks.Compile.INSTANCE,
                    TestTasks.Echo.INSTANCE,
                    ClusterFailureClassesTest.Draw.INSTANCE))
            .localQueue()
            .sequencer(TestNodes.compilePlan())
            .workers(WorkerGroup.allTypes(1, 2))
            .start();
    TestNodes.await(node.ready());
    return node;
  }

  private static FlowLogic<Num> draw() {
    return scope ->
        scope.push(
            ClusterFailureClassesTest.Draw.INSTANCE,
            new ClusterFailureClassesTest.Drawing(new ClusterFailureClassesTest.Circle(2)),
            scope::complete);
  }

  @Test
  void withTheSettingOnEachValueThatCouldNotCrossANodeFailsItsTaskAsInACluster() {
    try (ProverNode node = node("checks-on", "prover.queue.check-payloads-in-one-jvm = on")) {
      Text nearLimit = Text.ofSize(1_000_000, false); // the limit is 1 MiB serialised
      assertEquals(
          nearLimit,
          TestNodes.await(node.run("near-limit", new EchoOnce(nearLimit))),
          "a value that passes travels as bytes and is decoded where it is used");

      String input = TestNodes.failureOf(node, new EchoOnce(Text.ofSize(1_100_000, false)));
      assertTrue(input.contains("input") && input.contains("1048576-byte limit"), input);
      assertTrue(input.contains("split the work"), "says what to do: " + input);

      String result =
          TestNodes.failureOf(node, new EchoOnce(Text.ofSize(600_000, true))); // 1.2 MB back
      assertTrue(
          result.contains("the result of task") && result.contains("1048576-byte limit"), result);
      assertTrue(result.contains("after 1 dispatch(es)"), "not retried: " + result);

      String unreadable = TestNodes.failureOf(node, draw());
      assertTrue(unreadable.contains("cannot cross a node"), unreadable);
      assertTrue(
          unreadable.contains(ClusterFailureClassesTest.Drawing.class.getName()), unreadable);

      assertEquals(
          Num.of(25),
          TestNodes.await(
              node.run(
                  "after",
                  new FanOutReduce<>(
                      TestTasks.Square.INSTANCE,
                      List.of(Num.of(3), Num.of(4)),
                      TestTasks.Add.INSTANCE,
                      Pair::new))),
          "later work runs");
    }
  }

  @Test
  void byDefaultNothingIsCheckedInOneJvm() {
    try (ProverNode node = node("checks-off", "")) {
      Text overLimit = Text.ofSize(1_100_000, true);
      assertEquals(
          Text.ofSize(2_200_000, false),
          TestNodes.await(node.run("over-limit", new EchoOnce(overLimit))));
      assertEquals(Num.of(1), TestNodes.await(node.run("draw", draw())));
    }
  }
}
