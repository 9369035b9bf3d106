package dev.pekkoprover.appchain;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.CompileRequest;
import dev.pekkoprover.appchain.proof.CompiledCircuit;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.appchain.task.BlockBuildingTask;
import dev.pekkoprover.appchain.task.BlockProvingTask;
import dev.pekkoprover.appchain.task.BlockReductionTask;
import dev.pekkoprover.appchain.task.CircuitCompilerTask;
import dev.pekkoprover.appchain.task.NewBlockTask;
import dev.pekkoprover.appchain.task.RuntimeProvingTask;
import dev.pekkoprover.appchain.task.StateTransitionReductionTask;
import dev.pekkoprover.appchain.task.StateTransitionTask;
import dev.pekkoprover.protocol.TaskType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a node needs from the reference appchain: its task types, the start-up compile requests and
 * how their results become the workers' registration parameters. The ninth task type, {@code
 * WorkerRegistrationTask}, is the framework's own; its payload is the {@link VerificationKeys}
 * built here.
 */
public final class Appchain {
  private Appchain() {}

  /**
   * The eight appchain task types (every one but the framework's registration type), compile first.
   */
  public static List<TaskType<?, ?>> taskTypes() {
    return List.of(
        CircuitCompilerTask.INSTANCE,
        RuntimeProvingTask.INSTANCE,
        StateTransitionTask.INSTANCE,
        StateTransitionReductionTask.INSTANCE,
        BlockProvingTask.INSTANCE,
        BlockReductionTask.INSTANCE,
        NewBlockTask.INSTANCE,
        BlockBuildingTask.INSTANCE);
  }

  /** The names of the seven regular (proving) task types: what a proving worker serves. */
  public static List<String> provingTaskNames() {
    List<String> names = new ArrayList<>();
    for (TaskType<?, ?> type : taskTypes()) {
      if (!type.isUnprepared()) {
        names.add(type.name());
      }
    }
    return names;
  }

  /** One {@code CircuitCompilerTask} input per circuit. */
  public static List<CompileRequest> compileRequests(AppchainSettings settings) {
    List<CompileRequest> requests = new ArrayList<>();
    for (Circuit circuit : Circuit.values()) {
      requests.add(
          new CompileRequest(circuit.id(), settings.circuitSeed(), settings.provingWork()));
    }
    return requests;
  }

  /**
   * The registration parameters from the compile results (any order): every circuit exactly once,
   * with a key that matches its hash and one proving work for all.
   */
  public static VerificationKeys registrationParams(List<CompiledCircuit> compiled) {
    Map<String, String> keys = new LinkedHashMap<>();
    Long work = null;
    for (CompiledCircuit circuit : compiled) {
      if (Circuit.of(circuit.circuit()) == null) {
        throw new IllegalArgumentException(
            "compile result for unknown circuit '" + circuit.circuit() + "'");
      }
      if (!CircuitKeys.vkHash(
              Sha256.unhex(circuit.verificationKey(), "key of " + circuit.circuit()))
          .equals(circuit.vkHash())) {
        throw new IllegalArgumentException(
            "compile result for '" + circuit.circuit() + "': key and hash disagree");
      }
      if (keys.put(circuit.circuit(), circuit.verificationKey()) != null) {
        throw new IllegalArgumentException(
            "circuit '" + circuit.circuit() + "' was compiled twice");
      }
      if (work != null && work != circuit.provingWork()) {
        throw new IllegalArgumentException(
            "compile results disagree on proving work: " + work + " and " + circuit.provingWork());
      }
      work = circuit.provingWork();
    }
    for (Circuit circuit : Circuit.values()) {
      if (!keys.containsKey(circuit.id())) {
        throw new IllegalArgumentException("no compile result for circuit '" + circuit.id() + "'");
      }
    }
    return new VerificationKeys(keys, work);
  }
}
