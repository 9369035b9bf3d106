package dev.pekkoprover.cluster;

import dev.pekkoprover.appchain.Appchain;
import dev.pekkoprover.appchain.AppchainSettings;
import dev.pekkoprover.appchain.Chain;
import dev.pekkoprover.appchain.Workload;
import dev.pekkoprover.appchain.flow.BatchProof;
import dev.pekkoprover.appchain.flow.BatchProvingFlow;
import dev.pekkoprover.appchain.proof.CompileRequest;
import dev.pekkoprover.appchain.proof.CompiledCircuit;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.metrics.ProverMetrics;
import dev.pekkoprover.sequencer.FlowResult;
import dev.pekkoprover.sequencer.ProvingOrchestrator;
import dev.pekkoprover.sequencer.StartupPlan;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The reference appchain's main job, on any node that runs the sequencer: generate a seeded
 * workload of signed transfers, admit it through the mempool, produce blocks, prove them in batches
 * through the queue and workers, and check every batch proof against the sequencer's direct
 * computation (state root, block hash, chaining).
 *
 * <p>Each batch is a flow named after its blocks and the hash of its last block, which chains the
 * whole history before it: with durability on ({@code prover.persistence}) a batch proven by an
 * earlier run of the same chain is returned from the store at once, and an unfinished one reuses
 * every task result stored, so running the same job again after a crash resumes it. It says from
 * which block, and how much it reused.
 */
public final class AppchainJob {
  private AppchainJob() {}

  /**
   * @param accounts funded accounts in the genesis state
   * @param blocks blocks to produce
   * @param txPerBlock transactions per block
   * @param blocksPerBatch blocks per batch proof (one flow each; batches are proven side by side)
   * @param seed the workload's seed: the same seed gives the same chain
   */
  public record Options(int accounts, int blocks, int txPerBlock, int blocksPerBatch, long seed) {
    public Options {
      if (accounts < 2 || blocks < 1 || txPerBlock < 1 || blocksPerBatch < 1) {
        throw new IllegalArgumentException(
            String.format(
                "the appchain job needs accounts >= 2, blocks >= 1, txs per block >= 1 and blocks"
                    + " per batch >= 1 (--accounts, --blocks, --txs, --batch; were %d, %d, %d, %d)",
                accounts, blocks, txPerBlock, blocksPerBatch));
      }
    }
  }

  /** What the job did and whether the proofs matched. */
  public record Summary(
      int blocks,
      int transactions,
      int refused,
      Map<String, Long> tasksPerType,
      Duration wallTime,
      String provenStateRoot,
      String directStateRoot,
      String provenLastBlockHash,
      String directLastBlockHash,
      List<String> failures,
      Reuse reuse) {

    public long tasks() {
      return tasksPerType.values().stream().mapToLong(Long::longValue).sum();
    }

    public boolean rootsMatch() {
      return provenStateRoot != null
          && provenStateRoot.equals(directStateRoot)
          && provenLastBlockHash.equals(directLastBlockHash);
    }

    public boolean ok() {
      return failures.isEmpty() && rootsMatch();
    }

    public String render() {
      StringBuilder text = new StringBuilder();
      text.append("== summary ==\n");
      text.append(String.format("blocks            %d%n", blocks));
      text.append(
          String.format(
              "transactions      %d (refused at the mempool: %d, invalid on purpose)%n",
              transactions, refused));
      text.append("tasks per type (computed by this run)\n");
      tasksPerType.forEach((type, n) -> text.append(String.format("  %-30s %d%n", type, n)));
      double seconds = wallTime.toNanos() / 1e9;
      text.append(String.format("wall time         %.2f s (start-up excluded)%n", seconds));
      // a rate over less than a second (a resumed run with everything stored: 0.02 s) says
      // nothing about the fleet
      text.append(
          seconds < 1
              ? "tasks/s           - (a wall time under 1 s)\n"
              : String.format("tasks/s           %.0f%n", tasks() / seconds));
      text.append(String.format("proven state root %s%n", provenStateRoot));
      text.append(String.format("direct state root %s%n", directStateRoot));
      text.append(String.format("proven last block %s%n", provenLastBlockHash));
      text.append(String.format("direct last block %s%n", directLastBlockHash));
      if (reuse != null) {
        text.append(
            String.format(
                "reused            %d batch proof(s) and %d task result(s) from the store%n",
                reuse.batchesRestored(), reuse.tasksReused()));
        // not "  Type  n" alone, which reads (and parses) as computed; right under the line they
        // break down
        reuse
            .tasksReusedPerType()
            .forEach((type, n) -> text.append(String.format("  %-30s %d reused%n", type, n)));
        if (reuse.batchesRestored() > 0) { // what the counts above leave out: it did not run
          text.append(
              String.format(
                  "restored          %d block(s) of %d transaction(s) in those batch proofs; their"
                      + " tasks did not run%n",
                  reuse.blocksRestored(), reuse.transactionsRestored()));
        }
        text.append(String.format("result store      %s%n", reuse.store()));
      }
      failures.forEach(failure -> text.append("FAILURE           ").append(failure).append('\n'));
      text.append(
          ok()
              ? "RESULT OK: the batch proofs match the direct computation\n"
              : "RESULT FAILED: "
                  + (failures.isEmpty() ? "the roots differ" : failures.size() + " failure(s)")
                  + "\n");
      return text.toString();
    }
  }

  /**
   * What a durable run took from the store instead of computing it.
   *
   * @param batchesRestored batch proofs stored by an earlier run, returned without running
   * @param blocksRestored the blocks of those batches
   * @param transactionsRestored the transactions of those blocks: with {@code blocksRestored}, what
   *     the tasks per type leave out (one {@code RuntimeProvingTask} and one {@code
   *     BlockProvingTask} per transaction, one {@code NewBlockTask} per block)
   * @param tasksReused task results of the batches that ran found in the store (or computed by
   *     another batch)
   * @param tasksReusedPerType {@code tasksReused} by task type name, in name order
   * @param store the result store's counters: results held, writes, batch sizes, write latency
   */
  public record Reuse(
      int batchesRestored,
      int blocksRestored,
      long transactionsRestored,
      long tasksReused,
      Map<String, Long> tasksReusedPerType,
      String store) {}

  /**
   * The appchain's task types, with every {@code crashEvery}-th proving compute crashing its worker
   * (0: never).
   */
  public static TaskCatalog catalog(long crashEvery) {
    if (crashEvery < 0) {
      throw new IllegalArgumentException(
          "crash-every (--crash-every) must be at least 0 (0: never), was " + crashEvery);
    }
    return TaskCatalog.of(CrashingTaskType.wrap(Appchain.taskTypes(), crashEvery));
  }

  /**
   * The names of the appchain's task types other than {@code excluded}: the rest of a split worker
   * fleet.
   */
  public static List<String> typesExcept(List<String> excluded) {
    List<String> names = new ArrayList<>();
    for (TaskType<?, ?> type : Appchain.taskTypes()) {
      if (!excluded.contains(type.name())) {
        names.add(type.name());
      }
    }
    return names;
  }

  /** Compile every circuit on some worker, then register workers with the verification keys. */
  public static StartupPlan<CompileRequest, CompiledCircuit> startupPlan(
      AppchainSettings settings) {
    return StartupPlan.of(
        CircuitCompilerTask.INSTANCE,
        Appchain.compileRequests(settings),
        Appchain::registrationParams);
  }

  /**
   * Runs the job on a node with a sequencer; its progress goes to {@code out} ({@link JobProgress}:
   * a bar on a terminal, else a line once a second and once at the end; what it waits for; worker
   * nodes joining and leaving).
   */
  public static Summary run(
      ProverNode node, AppchainSettings settings, Options options, PrintStream out) {
    try (JobProgress progress = JobProgress.start(node, out, CircuitCompilerTask.NAME)) {
      return run(node, settings, options, progress);
    }
  }

  private static Summary run(
      ProverNode node, AppchainSettings settings, Options options, JobProgress progress) {
    progress.awaitReady();
    VerificationKeys keys =
        (VerificationKeys) node.registrationParameters().toCompletableFuture().join();

    Workload workload =
        Workload.generate(
            options.seed(), options.accounts(), options.blocks(), options.txPerBlock());
    Chain chain = Chain.create(workload.genesis(), settings);
    int accepted = workload.submitAll(chain);
    int refused = workload.transfers().size() - accepted;
    List<BlockTrace> traces = new ArrayList<>();
    for (Optional<BlockTrace> block = chain.produceBlock(options.txPerBlock());
        block.isPresent();
        block = chain.produceBlock(options.txPerBlock())) {
      traces.add(block.get());
    }
    progress.println(
        String.format(
            "produced %d blocks of %d transactions in all (%d more refused at the mempool: the"
                + " workload makes one in 20 invalid on purpose, to show the refusals); proving in"
                + " batches of %d",
            traces.size(), accepted, refused, options.blocksPerBatch()));

    long start = System.nanoTime();
    List<List<BlockTrace>> batches = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < traces.size(); i += options.blocksPerBatch()) {
      List<BlockTrace> batch =
          traces.subList(i, Math.min(traces.size(), i + options.blocksPerBatch()));
      batches.add(batch);
      names.add(batchName(batch));
    }
    Heights heights = Heights.register(node, traces.size());
    boolean durable = node.system().settings().config().getBoolean("prover.persistence.enabled");
    int storedBlocks = durable ? reportResume(node, batches, names, progress) : 0;
    List<CompletableFuture<FlowResult.Completed>> proofs = new ArrayList<>();
    for (int i = 0; i < batches.size(); i++) {
      proofs.add(
          node.runWithStats(names.get(i), BatchProvingFlow.create(batches.get(i)))
              .toCompletableFuture());
    }
    for (CompletableFuture<FlowResult.Completed> proof : proofs) {
      proof.whenComplete((done, error) -> heights.provenUpTo(proofs, batches));
    }
    progress.proving(traces.size(), storedBlocks);
    List<String> failures = new ArrayList<>();
    List<BatchProof> proven = new ArrayList<>();
    int restored = 0;
    int blocksRestored = 0;
    long transactionsRestored = 0;
    long reused = 0;
    Map<String, Long> reusedPerType = new TreeMap<>();
    int blocksProven = 0;
    for (int i = 0; i < proofs.size(); i++) {
      try {
        FlowResult.Completed done = proofs.get(i).join();
        proven.add((BatchProof) done.result());
        if (done.restored()) {
          restored++;
          blocksRestored += batches.get(i).size();
          for (BlockTrace block : batches.get(i)) {
            transactionsRestored += block.transactions().size();
          }
        }
        reused += done.stats().reused();
        done.stats()
            .reusedPerType()
            .forEach((type, n) -> reusedPerType.merge(type, (long) n, Long::sum));
        blocksProven += batches.get(i).size();
      } catch (RuntimeException e) {
        failures.add("batch " + i + ": " + rootCause(e).getMessage());
      }
    }
    Duration wall = Duration.ofNanos(System.nanoTime() - start);
    // Where proving got to once every flow has ended (a run shorter than a second shows it too);
    // blocks of batches
    // that completed count as proven, also those whose proofs came from the store.
    progress.finish(blocksProven);
    if (failures.isEmpty()) {
      failures.addAll(checkChain(proven, chain, keys));
    }
    BatchProof last = proven.isEmpty() ? null : proven.get(proven.size() - 1);
    return new Summary(
        traces.size(),
        accepted,
        refused,
        // this JVM's flows' counts: the queue entities' own start again from 0 where one moves
        // (a lost queue node, a standby's take-over)
        progress.computedPerType(),
        wall,
        last == null ? null : last.stateRoot(),
        chain.stateRoot(),
        last == null ? null : last.lastBlockHash(),
        chain.lastBlockHash(),
        failures,
        durable
            ? new Reuse(
                restored,
                blocksRestored,
                transactionsRestored,
                reused,
                reusedPerType,
                describe(node.storeStats().toCompletableFuture().join()))
            : null);
  }

  /**
   * A batch's durable name: its block range and its last block's hash (64 bits of it), which chains
   * every block before it: another chain (seed, sizes) gives other names.
   */
  static String batchName(List<BlockTrace> batch) {
    BlockTrace first = batch.get(0);
    BlockTrace last = batch.get(batch.size() - 1);
    return "batch-"
        + first.number()
        + "-"
        + last.number()
        + "-"
        + last.blockHash().substring(0, 16);
  }

  /**
   * Says what the store holds of this job: how many batch proofs, how many task results, and from
   * which block the proving goes on. Returns the blocks whose batch proofs are stored.
   */
  private static int reportResume(
      ProverNode node, List<List<BlockTrace>> batches, List<String> names, JobProgress out) {
    Set<String> stored = new HashSet<>(node.storedFlows(names).toCompletableFuture().join());
    ProvingOrchestrator.StoreStats store = node.storeStats().toCompletableFuture().join();
    List<String> ranges =
        new ArrayList<>(); // stored batches, consecutive ones as one range of blocks
    long rangeStart = -1;
    long rangeEnd = -1;
    long fromBlock = -1;
    int storedBlocks = 0;
    for (int i = 0; i < batches.size(); i++) {
      List<BlockTrace> batch = batches.get(i);
      long first = batch.get(0).number();
      long last = batch.get(batch.size() - 1).number();
      if (stored.contains(names.get(i))) {
        storedBlocks += batch.size();
        if (rangeStart >= 0 && first == rangeEnd + 1) {
          rangeEnd = last;
          continue;
        }
        if (rangeStart >= 0) {
          ranges.add(rangeStart + "-" + rangeEnd);
        }
        rangeStart = first;
        rangeEnd = last;
      } else {
        if (fromBlock < 0) {
          fromBlock = first;
        }
        if (rangeStart >= 0) {
          ranges.add(rangeStart + "-" + rangeEnd);
          rangeStart = -1;
        }
      }
    }
    if (rangeStart >= 0) {
      ranges.add(rangeStart + "-" + rangeEnd);
    }
    if (stored.isEmpty() && store.results() == 0) {
      out.println(
          String.format(
              "nothing stored yet: proving from block %d", batches.get(0).get(0).number()));
    } else if (fromBlock < 0) {
      out.println(
          String.format(
              "resuming: all %d batch proof(s) are stored (blocks %s): nothing left to prove",
              batches.size(), String.join(", ", ranges)));
    } else {
      out.println(
          String.format(
              "resuming: %d of %d batch proof(s) stored%s; the store holds %d task result(s) of this"
                  + " and earlier jobs, reused where they match; proving from block %d",
              stored.size(),
              batches.size(),
              ranges.isEmpty() ? "" : " (blocks " + String.join(", ", ranges) + ")",
              store.results(),
              fromBlock));
    }
    return storedBlocks;
  }

  private static String describe(ProvingOrchestrator.StoreStats store) {
    if (store.writer() == null) {
      return store.results() + " results held";
    }
    return String.format(
        "%d results held (%d KiB); this run wrote %d in %d writes (largest batch %d, mean write "
            + "%.1f ms, longest %.1f ms)",
        store.results(),
        store.resultBytes() / 1024,
        store.writer().results(),
        store.writer().writes(),
        store.writer().largestBatch(),
        store.writer().meanWriteMicros() / 1000.0,
        store.writer().maxWriteMicros() / 1000.0);
  }

  /**
   * The chain's heights as gauges on the sequencer's node: {@code prover_appchain_height} (blocks
   * produced) and {@code prover_appchain_proven_height} (blocks proven without a gap from genesis:
   * every batch up to there has its proof).
   */
  private static final class Heights {
    private final AtomicLong produced = new AtomicLong();
    private final AtomicLong proven = new AtomicLong();

    static Heights register(ProverNode node, int blocks) {
      Heights heights = new Heights();
      heights.produced.set(blocks);
      MeterRegistry registry = ProverMetrics.get(node.system()).registry();
      Gauge.builder("prover.appchain.height", heights.produced, AtomicLong::get)
          .description("Blocks the appchain produced")
          .strongReference(true)
          .register(registry);
      Gauge.builder("prover.appchain.proven.height", heights.proven, AtomicLong::get)
          .description("Blocks proven from genesis without a gap")
          .strongReference(true)
          .register(registry);
      return heights;
    }

    /**
     * Called as each batch proof completes (on any thread): the blocks of the leading run of proven
     * batches.
     */
    synchronized void provenUpTo(
        List<CompletableFuture<FlowResult.Completed>> proofs, List<List<BlockTrace>> batches) {
      long blocks = 0;
      for (int i = 0;
          i < proofs.size() && proofs.get(i).isDone() && !proofs.get(i).isCompletedExceptionally();
          i++) {
        blocks += batches.get(i).size();
      }
      proven.set(blocks);
    }
  }

  /**
   * Every batch proof verifies under the compiled keys, and each one starts where the one before
   * ended.
   */
  static List<String> checkChain(List<BatchProof> proofs, Chain chain, VerificationKeys keys) {
    List<String> problems = new ArrayList<>();
    String root = chain.genesisStateRoot();
    String previousBlock = null;
    for (int i = 0; i < proofs.size(); i++) {
      BatchProof proof = proofs.get(i);
      try {
        proof.proof().verify(keys);
      } catch (RuntimeException e) {
        problems.add("batch " + i + " proof does not verify: " + e.getMessage());
      }
      if (!proof.stateRootBefore().equals(root)) {
        problems.add(
            "batch "
                + i
                + " starts from state root "
                + proof.stateRootBefore()
                + ", expected "
                + root);
      }
      if (previousBlock != null && !proof.prevBlockHash().equals(previousBlock)) {
        problems.add(
            "batch "
                + i
                + " follows block "
                + proof.prevBlockHash()
                + ", expected "
                + previousBlock);
      }
      root = proof.stateRoot();
      previousBlock = proof.lastBlockHash();
    }
    return problems;
  }

  static Throwable rootCause(Throwable error) {
    Throwable cause = error;
    while (cause.getCause() != null && !(cause instanceof FlowFailedException)) {
      cause = cause.getCause();
    }
    return cause;
  }
}
