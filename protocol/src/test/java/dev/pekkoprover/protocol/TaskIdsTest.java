package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Task ids keep their wire shape {@code <flowId>:<sequence>}, and a flow reads its own numbers
 * back.
 */
class TaskIdsTest {

  @Test
  void theShapeIsFlowIdColonSequence() {
    assertEquals("block-7-12:1", TaskIds.of("block-7-12", 1));
    assertEquals("register-worker-flow:42", TaskIds.of("register-worker-flow", 42));
    assertEquals("a:b:9223372036854775807", TaskIds.of("a:b", Long.MAX_VALUE));
  }

  @Test
  void aFlowReadsBackTheNumbersOfItsOwnIds() {
    assertEquals(1, TaskIds.sequenceIn(TaskIds.of("sum", 1), "sum"));
    assertEquals(123_456_789_012L, TaskIds.sequenceIn("sum:123456789012", "sum"));
    assertEquals(
        1_000_000_000_000_000L,
        TaskIds.sequenceIn(TaskIds.of("a:b", 1_000_000_000_000_000L), "a:b"));
  }

  @Test
  void idsOfOtherFlowsOrShapesAreNotItsOwn() {
    assertEquals(-1, TaskIds.sequenceIn("sum-2:1", "sum"), "another flow whose id starts alike");
    assertEquals(-1, TaskIds.sequenceIn("other:1", "sum"));
    assertEquals(-1, TaskIds.sequenceIn("sum:", "sum"), "no number");
    assertEquals(-1, TaskIds.sequenceIn("sum", "sum"));
    assertEquals(-1, TaskIds.sequenceIn("sum:1x", "sum"));
    assertEquals(-1, TaskIds.sequenceIn("sum:-1", "sum"));
    assertEquals(-1, TaskIds.sequenceIn("sum:99999999999999999999", "sum"), "beyond a long");
  }
}
