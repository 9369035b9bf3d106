package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Run ids order by start time, and only ids of their shape are taken to. */
class RunIdsTest {

  @Test
  void freshIdsHaveTheShapeAndOrderByTime() {
    String first = RunIds.next();
    String second = first;
    // the ids order by their millisecond: take one of a later millisecond (bounded: 100,000 tries)
    for (int i = 0; i < 100_000 && second.startsWith(first.substring(0, 14)); i++) {
      second = RunIds.next();
    }
    assertTrue(RunIds.isRunId(first), first);
    assertTrue(RunIds.isNewer(second, first));
    assertFalse(RunIds.isNewer(first, second));
    assertFalse(RunIds.isNewer(first, first));
    assertTrue(RunIds.isNewer(first, null));
    assertFalse(RunIds.isNewer(null, first));
  }

  @Test
  void onlyIdsOfTheShapeAreRunIds() {
    assertTrue(RunIds.isRunId("r1796500720225-11ae13f3"));
    for (String other :
        new String[] {
          null,
          "",
          "run-1",
          "bench-run",
          "r1796500720225-11ae13f",
          "r1796500720225-11ae13fg",
          "r179650072022x-11ae13f3",
          "s1796500720225-11ae13f3",
          "r1796500720225_11ae13f3"
        }) {
      assertFalse(RunIds.isRunId(other), other);
    }
  }
}
