package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.CompileRequest;
import dev.pekkoprover.appchain.proof.CompiledCircuit;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.appchain.state.Sha256;
import dev.pekkoprover.protocol.PermanentTaskFailure;
import dev.pekkoprover.protocol.TaskContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * Compiles one circuit into its verification key. Unprepared: it runs on workers that are not
 * registered yet, since its result is what registers them. The key is derived from the request's
 * seed and the circuit, so compiling twice gives the same key; it costs the circuit's proving work
 * once.
 */
public final class CircuitCompilerTask extends CircuitTaskType<CompileRequest, CompiledCircuit> {
  public static final String NAME = "CircuitCompilerTask";
  public static final CircuitCompilerTask INSTANCE = new CircuitCompilerTask();

  private CircuitCompilerTask() {
    super(NAME, CompileRequest.class, CompiledCircuit.class);
  }

  @Override
  public boolean isUnprepared() {
    return true;
  }

  @Override
  public CompiledCircuit compute(CompileRequest request, TaskContext context) {
    Inputs.require(request, "compile request");
    Circuit circuit = Circuit.of(request.circuit());
    if (circuit == null) {
      throw new PermanentTaskFailure("cannot compile unknown circuit '" + request.circuit() + "'");
    }
    if (request.seed() == null || request.provingWork() < 0) {
      throw new PermanentTaskFailure(
          "compile request for circuit '"
              + circuit.id()
              + "' needs a seed and a proving work of at least 0");
    }
    byte[] key =
        Sha256.hash(
            Sha256.KEY,
            request.seed().getBytes(StandardCharsets.UTF_8),
            new byte[] {0},
            circuit.id().getBytes(StandardCharsets.UTF_8));
    // compiling costs about as much as one proof
    CircuitKeys.load(
            new VerificationKeys(Map.of(circuit.id(), Sha256.hex(key)), request.provingWork()),
            circuit)
        .prove(circuit, List.of(), List.of());
    return new CompiledCircuit(
        circuit.id(), Sha256.hex(key), CircuitKeys.vkHash(key), request.provingWork());
  }
}
