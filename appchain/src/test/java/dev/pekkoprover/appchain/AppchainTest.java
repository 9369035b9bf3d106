package dev.pekkoprover.appchain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.appchain.proof.CircuitKeys;
import dev.pekkoprover.appchain.proof.VerificationKeys;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.TaskContext;
import dev.pekkoprover.protocol.TaskType;
import dev.pekkoprover.protocol.WorkerRegistrationTask;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The facade a node builds its catalog, start-up and registration from. */
class AppchainTest {

  private static TaskContext registeredWith(Object registration) {
    return new TaskContext() {
      @Override
      public String workerId() {
        return "w1";
      }

      @Override
      public Object registration() {
        return registration;
      }

      @Override
      public <S> S prepared(Class<S> type) {
        throw new IllegalStateException("not prepared");
      }
    };
  }

  @Test
  void everyAppchainTypeHasTheConfiguredCircuitVersion() {
    String configured = ConfigFactory.load().getString("prover.appchain.circuit-version");
    assertEquals(configured, dev.pekkoprover.appchain.proof.Circuit.version());
    for (TaskType<?, ?> type : Appchain.taskTypes()) {
      assertEquals(configured, type.version(), type.name());
    }
  }

  @Test
  void theCatalogHoldsTheNineTaskTypes() {
    TaskCatalog catalog = TaskCatalog.of(Appchain.taskTypes());
    assertEquals(
        Set.of(
            WorkerRegistrationTask.NAME,
            "CircuitCompilerTask",
            "RuntimeProvingTask",
            "StateTransitionTask",
            "StateTransitionReductionTask",
            "BlockProvingTask",
            "BlockReductionTask",
            "NewBlockTask",
            "BlockBuildingTask"),
        catalog.names());
    assertTrue(catalog.get("CircuitCompilerTask").isUnprepared());
    assertEquals(7, Appchain.provingTaskNames().size());
    assertTrue(!Appchain.provingTaskNames().contains("CircuitCompilerTask"));
  }

  @Test
  void everyProvingTypePreparesItsCircuitsFromTheRegistrationParameters() throws Exception {
    VerificationKeys keys = TestChains.keys();
    for (TaskType<?, ?> type : Appchain.taskTypes()) {
      if (!type.isUnprepared()) {
        assertInstanceOf(CircuitKeys.class, type.prepare(registeredWith(keys)), type.name());
        IllegalStateException unregistered =
            assertThrows(IllegalStateException.class, () -> type.prepare(registeredWith(null)));
        assertTrue(
            unregistered.getMessage().contains("no registration parameters"),
            unregistered.getMessage());
      }
    }
  }

  @Test
  void settingsComeFromReferenceConfAndAreChecked() {
    AppchainSettings defaults = AppchainSettings.fromConfig(ConfigFactory.load());
    assertEquals(
        new AppchainSettings(0, 8, 32, "pekko-prover-reference-appchain", 100000), defaults);
    AppchainSettings heavy =
        AppchainSettings.fromConfig(
            ConfigFactory.parseString("prover.appchain.proving-work = 5000")
                .withFallback(ConfigFactory.load()));
    assertEquals(5000, heavy.provingWork());
    assertEquals(
        List.of(5000L, 5000L, 5000L, 5000L, 5000L),
        Appchain.compileRequests(heavy).stream().map(r -> r.provingWork()).toList());
    IllegalArgumentException error =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                AppchainSettings.fromConfig(
                    ConfigFactory.parseString("prover.appchain.transitions-per-task = 0")
                        .withFallback(ConfigFactory.load())));
    assertTrue(
        error.getMessage().contains("prover.appchain.transitions-per-task"), error.getMessage());
  }
}
