package dev.pekkoprover.node;

import com.typesafe.config.Config;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.StartupPlan;
import java.io.PrintStream;
import java.util.List;

/**
 * A set of task types and the job that proves with them, packaged so that the shipped launcher runs
 * it on a cluster without a main of your own: {@code java -cp prover-node.jar:my-tasks.jar
 * dev.pekkoprover.cluster.NodeLauncher node --plugin <class> ...}. Every node of the cluster gets
 * the same plugin: a worker node serves its {@link #catalog}, a queue node checks workers against
 * that catalog's fingerprint, and the node with role {@code sequencer} starts with its {@link
 * #startupPlan} and then runs its {@link #job}. The reference appchain is the launcher's plugin by
 * default.
 *
 * <p>Found through {@link java.util.ServiceLoader}: the jar lists the implementing class in {@code
 * META-INF/services/dev.pekkoprover.node.ProverPlugin}, and the class has a public constructor
 * without parameters. The launcher may also name a class that is on the class path without that
 * file.
 *
 * <p>Not to miss: the methods are called on every node, each with that node's configuration; they
 * must give the same task types (names and versions) on every node of one build, or the queue
 * refuses the workers whose catalog differs. Inputs, results and registration parameters cross
 * nodes: records implementing {@code CborSerializable}. Settings of your own come from the
 * configuration, e.g. {@code java -Dmy.tasks.count=1000 ...}.
 */
public interface ProverPlugin {

  /**
   * A short name for people and the launcher's {@code --plugin} (besides the class name), e.g.
   * {@code appchain}.
   */
  String name();

  /** The task types this plugin's workers serve and its queue knows; the same on every node. */
  TaskCatalog catalog(Config config);

  /**
   * The task types a worker node serves when its command names none ({@code --tasks}); empty for
   * every type of {@link #catalog}, the default.
   */
  default List<String> workerTaskTypes(Config config) {
    return List.of();
  }

  /**
   * The sequencer's start-up: what it compiles on a worker before registering workers, and with
   * what parameters.
   */
  StartupPlan<?, ?> startupPlan(Config config);

  /** What the node with role sequencer runs once it has started; called on that node only. */
  Job job(Config config);

  /** The sequencer-side job: runs flows on the node and says whether their results are right. */
  @FunctionalInterface
  interface Job {
    /**
     * Runs to the end on the calling thread (the launcher gives it one of its own).
     *
     * @param node the started node; its sequencer may still be starting ({@link
     *     ProverNode#ready()})
     * @param out where progress lines go, one per event that matters
     * @return whether the job's results are right and its summary, which the launcher prints
     * @throws Exception a failure of the job itself (a flow that failed): the launcher reports it
     *     in one line, leaves the cluster and exits with 1 (a job that fails because its node went
     *     away, downed or stopped, exits with the code of that end)
     */
    Outcome run(ProverNode node, PrintStream out) throws Exception;
  }

  /**
   * How a job ended.
   *
   * @param ok its results are right: the launcher's {@code node --exit-when-done} exits with 0,
   *     else 1
   * @param summary lines printed when the job ends, each ending with a line break (the launcher
   *     adds the last one when it is missing); the launcher prints no verdict of its own: its exit
   *     code is {@code ok}'s (the example and the appchain end theirs with {@code RESULT OK})
   */
  record Outcome(boolean ok, String summary) {}
}
