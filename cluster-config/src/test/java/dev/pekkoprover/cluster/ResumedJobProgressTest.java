package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.appchain.task.NewBlockTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A resumed appchain job counts what it took from the store as done: its progress line counts the
 * reused results (marked as such) and their blocks as proven, and its summary lists them per type
 * beside the computed ones. The first node proves the job's first batch under another name (as a
 * killed run would have, without storing the batch's proof), the second runs the job on the same
 * journal.
 */
@ExtendWith(LogCapturingExtension.class)
class ResumedJobProgressTest {
  /** 4 blocks of 4 transfers in batches of 2: batch 0 (blocks 0-1) is all in the store. */
  private static final AppchainJob.Options JOB = new AppchainJob.Options(8, 4, 4, 2, 7);

  private static final Pattern REUSED_LINE = Pattern.compile("(?m)^  (\\w+Task) +(\\d+) reused$");

  private static ProverNode node(String name, Config config, AppchainSettings settings) {
    ProverNode node =
        ProverNode.builder(name)
            .config(config)
            .catalog(AppchainJob.catalog(0))
            .localQueue()
            .sequencer(AppchainJob.startupPlan(settings))
            .workers(WorkerGroup.allTypes(2, 2))
            .start();
    TestNodes.await(node.ready());
    return node;
  }

  /** The job's blocks, as {@link AppchainJob} produces them. */
  private static List<BlockTrace> blocks(AppchainSettings settings) {
    Workload workload =
        Workload.generate(JOB.seed(), JOB.accounts(), JOB.blocks(), JOB.txPerBlock());
    Chain chain = Chain.create(workload.genesis(), settings);
    workload.submitAll(chain);
    List<BlockTrace> traces = new ArrayList<>();
    for (Optional<BlockTrace> block = chain.produceBlock(JOB.txPerBlock());
        block.isPresent();
        block = chain.produceBlock(JOB.txPerBlock())) {
      traces.add(block.get());
    }
    return traces;
  }

  @Test
  void theResumedJobCountsWhatItReusedInItsProgressAndItsSummary() throws Exception {
    String url = "jdbc:h2:mem:resumed-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1";
    Config config = TestNodes.durableConfig(url, "prover.appchain.proving-work = 200");
    JournalSchema.createIfMissing(config);
    AppchainSettings settings = AppchainSettings.fromConfig(config);
    List<BlockTrace> traces = blocks(settings);
    try (ProverNode first = node("resumed-1", config, settings)) {
      // completes once every result is stored
      TestNodes.await(first.run("killed-run", BatchProvingFlow.create(traces.subList(0, 2))));
    }

    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    AppchainJob.Summary summary;
    try (ProverNode second = node("resumed-2", config, settings)) {
      summary =
          AppchainJob.run(
              second, settings, JOB, new PrintStream(printed, true, StandardCharsets.UTF_8));
    }
    String output = printed.toString(StandardCharsets.UTF_8);
    String rendered = summary.render();
    assertTrue(summary.ok(), output + rendered);
    assertEquals(0, summary.reuse().batchesRestored(), rendered);

    // the summary: the reused results per type, apart from the computed ones
    Map<String, Long> reused = summary.reuse().tasksReusedPerType();
    assertEquals(2, reused.get(NewBlockTask.NAME), "batch 0's two blocks: " + rendered);
    assertEquals(
        summary.reuse().tasksReused(),
        reused.values().stream().mapToLong(Long::longValue).sum(),
        rendered);
    Matcher reusedLine = REUSED_LINE.matcher(rendered);
    long reusedListed = 0;
    while (reusedLine.find()) {
      assertEquals(reused.get(reusedLine.group(1)), Long.parseLong(reusedLine.group(2)), rendered);
      reusedListed += Long.parseLong(reusedLine.group(2));
    }
    assertEquals(summary.reuse().tasksReused(), reusedListed, rendered);
    long computed =
        summary.tasks() - summary.tasksPerType().getOrDefault(CircuitCompilerTask.NAME, 0L);
    assertEquals(
        computed,
        DurableClusterIT.tasksComputed(rendered),
        "the IT's parser still reads the computed table alone:\n" + rendered);

    // the progress: reused results are done, marked as reused; the blocks all proven
    List<String> lines = output.lines().filter(line -> line.startsWith("proving:")).toList();
    String last = lines.get(lines.size() - 1);
    assertTrue(last.startsWith("proving: blocks 4/4 proven"), last);
    assertTrue(last.contains(" NewBlockTask=4 (2 reused)"), last);
    assertEquals(computed + summary.reuse().tasksReused(), DurableClusterIT.tasksDone(last), last);
  }

  @Test
  void aBatchProofFromTheStoreIsSaidWithItsBlocksAndTransactionsAndTheCountsLeaveThemOut()
      throws Exception {
    String url = "jdbc:h2:mem:restored-" + System.nanoTime() + ";DB_CLOSE_DELAY=-1";
    Config config = TestNodes.durableConfig(url, "prover.appchain.proving-work = 200");
    JournalSchema.createIfMissing(config);
    AppchainSettings settings = AppchainSettings.fromConfig(config);
    List<BlockTrace> traces = blocks(settings);
    List<BlockTrace> batch1 = traces.subList(2, 4);
    try (ProverNode first = node("restored-1", config, settings)) {
      // batch 1 under the job's own name: its proof is stored, as a killed run leaves it
      TestNodes.await(first.run(AppchainJob.batchName(batch1), BatchProvingFlow.create(batch1)));
    }

    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    AppchainJob.Summary summary;
    try (ProverNode second = node("restored-2", config, settings)) {
      summary =
          AppchainJob.run(
              second, settings, JOB, new PrintStream(printed, true, StandardCharsets.UTF_8));
    }
    String rendered = summary.render();
    assertTrue(summary.ok(), printed.toString(StandardCharsets.UTF_8) + rendered);
    int transactions = batch1.get(0).transactions().size() + batch1.get(1).transactions().size();
    assertEquals(1, summary.reuse().batchesRestored(), rendered);
    assertEquals(2, summary.reuse().blocksRestored(), rendered);
    assertEquals(transactions, summary.reuse().transactionsRestored(), rendered);
    assertTrue(
        rendered.contains(
            "restored          2 block(s) of "
                + transactions
                + " transaction(s) in those batch proofs; their tasks did not run\n"),
        rendered);
    // batch 0 alone ran: the counts are its blocks' and transactions', which the check derives
    // from the chain's less the restored line's
    assertEquals(2L, summary.tasksPerType().get(NewBlockTask.NAME), rendered);
    NodeProcesses.assertTaskCountsMatchTheChain(rendered, JOB.blocks());
  }
}
