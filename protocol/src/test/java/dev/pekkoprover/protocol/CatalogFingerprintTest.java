package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.pekkoprover.testing.TestTasks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The comparison the queue makes before it hands a worker work, and the digests it compares. */
class CatalogFingerprintTest {

  /** Square with another contract version: what a worker of another build would have. */
  private static final TaskType<?, ?> SQUARE_V2 =
      new ForwardingTaskType<>(TestTasks.Square.INSTANCE) {
        @Override
        public String version() {
          return "2";
        }
      };

  private final Map<String, String> queue =
      CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE))
          .versions();

  @Test
  void theSameTypesAndVersionsMatchAndASubsetDoesToo() {
    CatalogFingerprint worker =
        CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE));
    assertEquals(List.of(), worker.differencesFrom(queue, Set.of("square", "add")));
    CatalogFingerprint squaresOnly =
        CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE));
    assertEquals(List.of(), squaresOnly.differencesFrom(queue, Set.of("square")));
    assertEquals(
        new TreeMap<>(
            Map.of(
                "square",
                "1#" + ContractShape.digestOf(TestTasks.Square.INSTANCE),
                WorkerRegistrationTask.NAME,
                CatalogFingerprint.contractOf(WorkerRegistrationTask.INSTANCE))),
        squaresOnly.versions());
    assertNull(squaresOnly.keysDigest(), "not registered");
  }

  @Test
  void aVersionThatDiffersIsNamedWithBothVersions() {
    CatalogFingerprint worker =
        CatalogFingerprint.of(TaskCatalog.of(SQUARE_V2, TestTasks.Add.INSTANCE));
    assertEquals(
        List.of("square version 2 (queue has 1)"),
        worker.differencesFrom(queue, Set.of("square", "add")));
    assertNotEquals(
        CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Add.INSTANCE))
            .digest(),
        worker.digest());
  }

  /**
   * A worker built with another result record for "square" (a field renamed), its version left at
   * 1: what a trial's plugin did, which gave a wrong root with no error on any node.
   */
  @Test
  void resultClassesChangedUnderTheSameVersionAreADifference() {
    TaskType<?, ?> squareRenamed =
        new NamedTaskType<TestTasks.Num, RenamedNum>(
            "square", TestTasks.Num.class, RenamedNum.class) {
          @Override
          public RenamedNum compute(TestTasks.Num input, TaskContext context) {
            return new RenamedNum(input.value() * input.value(), input.mode());
          }
        };
    CatalogFingerprint worker =
        CatalogFingerprint.of(TaskCatalog.of(squareRenamed, TestTasks.Add.INSTANCE));
    String shape = ContractShape.digestOf(squareRenamed);
    String queueShape = ContractShape.digestOf(TestTasks.Square.INSTANCE);
    assertNotEquals(queueShape, shape);
    assertEquals(
        List.of(
            "square's input or result classes (shape "
                + shape
                + ", the queue's "
                + queueShape
                + ") under the same version 1: a build changed them without a new version() of"
                + " the type"),
        worker.differencesFrom(queue, Set.of("square", "add")));
    assertEquals(List.of(), worker.differencesFrom(queue, Set.of("add")), "not configured");
  }

  /**
   * A worker of a build before shapes announces bare versions: only they are compared, so that a
   * rollout across the change refuses nobody for it; another version is still a difference.
   */
  @Test
  void aBuildWithoutShapesIsComparedByVersionOnly() {
    CatalogFingerprint old =
        new CatalogFingerprint(
            new TreeMap<>(Map.of("square", "1", "add", "2", WorkerRegistrationTask.NAME, "1")),
            "0000000000000000",
            null,
            null);
    assertEquals(
        List.of("add version 2 (queue has 1)"),
        old.differencesFrom(queue, Set.of("square", "add")));
  }

  /** Num with its "value" renamed "product". */
  record RenamedNum(long product, String mode) implements CborSerializable {}

  @Test
  void aTypeTheQueueDoesNotKnowIsADifference() {
    CatalogFingerprint worker =
        CatalogFingerprint.of(TaskCatalog.of(TestTasks.Square.INSTANCE, TestTasks.Echo.INSTANCE));
    assertEquals(
        List.of("type 'echo' (unknown to the queue)"),
        worker.differencesFrom(queue, Set.of("square", "echo")));
  }

  @Test
  void theKeysDigestDependsOnTheValueNotOnMapOrderAndDiffersForOtherKeys() {
    Map<String, String> ab = new LinkedHashMap<>();
    ab.put("a", "1");
    ab.put("b", "2");
    Map<String, String> ba = new LinkedHashMap<>();
    ba.put("b", "2");
    ba.put("a", "1");
    assertEquals(
        CatalogFingerprint.keysDigestOf(new Params(ab, 7)),
        CatalogFingerprint.keysDigestOf(new Params(ba, 7)));
    assertNotEquals(
        CatalogFingerprint.keysDigestOf(new Params(ab, 7)),
        CatalogFingerprint.keysDigestOf(new Params(ab, 8)));
    assertNotEquals(
        CatalogFingerprint.keysDigestOf(new TestTasks.Keys("k1")),
        CatalogFingerprint.keysDigestOf(new TestTasks.Keys("k2")));
    assertEquals(16, CatalogFingerprint.keysDigestOf(new TestTasks.Keys("k1")).length());
    assertNull(CatalogFingerprint.keysDigestOf(null));
  }

  record Params(Map<String, String> keys, long work) implements CborSerializable {}
}
