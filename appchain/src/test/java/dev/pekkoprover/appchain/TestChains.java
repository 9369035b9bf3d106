package dev.pekkoprover.appchain;

import dev.pekkoprover.appchain.proof.CompileRequest;
import dev.pekkoprover.appchain.proof.CompiledCircuit;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.appchain.trace.BlockTrace;
import java.util.ArrayList;
import java.util.List;

/** Keys and chains for the tests, made the way a node makes them. */
final class TestChains {
  private TestChains() {}

  static final AppchainSettings SETTINGS =
      AppchainSettings.fromConfig(com.typesafe.config.ConfigFactory.load());

  /** Compiles every circuit with the compile task and builds the registration parameters. */
  static VerificationKeys keys(String seed) {
    List<CompiledCircuit> compiled = new ArrayList<>();
    for (CompileRequest request : Appchain.compileRequests(SETTINGS.withCircuitSeed(seed))) {
      compiled.add(CircuitCompilerTask.INSTANCE.compute(request, null));
    }
    return Appchain.registrationParams(compiled);
  }

  static VerificationKeys keys() {
    return keys(SETTINGS.circuitSeed());
  }

  /** A chain fed with a workload and the blocks it produced. */
  record Produced(Workload workload, Chain chain, List<BlockTrace> blocks) {}

  static Produced produce(
      long seed, int accounts, int blocks, int txPerBlock, AppchainSettings settings) {
    Workload workload = Workload.generate(seed, accounts, blocks, txPerBlock);
    Chain chain = Chain.create(workload.genesis(), settings);
    workload.submitAll(chain);
    List<BlockTrace> traces = new ArrayList<>();
    while (chain.pendingTransactions() > 0) {
      traces.add(chain.produceBlock(txPerBlock).orElseThrow());
    }
    return new Produced(workload, chain, traces);
  }

  static Produced produce(long seed, int accounts, int blocks, int txPerBlock) {
    return produce(seed, accounts, blocks, txPerBlock, SETTINGS);
  }
}
