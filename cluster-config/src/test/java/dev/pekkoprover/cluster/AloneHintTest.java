package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The alone hint is said whole once 30 s alone, again only every 10 min, and anew after the node
 * was not alone; the waiting lines carry the short tail meanwhile ({@code LauncherWaitsIT} has the
 * real process).
 */
class AloneHintTest {
  private static final long S = 1_000_000_000L;

  @Test
  void theWholeHintOnceAfter30SAloneThenTheTailThenAgainAfter10Minutes() {
    AloneHint hint = new AloneHint();
    List<String> said = new ArrayList<>();
    long t0 = 1_000 * S;

    assertEquals("", hint.next(true, t0, said::add));
    assertEquals("", hint.next(true, t0 + 29 * S, said::add));
    assertEquals(List.of(), said, "not before 30 s alone");

    assertEquals(AloneHint.TAIL, hint.next(true, t0 + 30 * S, said::add));
    assertEquals(List.of(AloneHint.line(30)), said);
    for (long s = 31; s < 630; s += 5) {
      assertEquals(AloneHint.TAIL, hint.next(true, t0 + s * S, said::add));
    }
    assertEquals(1, said.size(), "once within 10 min");

    assertEquals(AloneHint.TAIL, hint.next(true, t0 + 631 * S, said::add));
    assertEquals(
        List.of(AloneHint.line(30), AloneHint.line(631)),
        said,
        "again after 10 min, with how long");
    assertTrue(
        said.get(1).startsWith("This node has been the only member of its cluster for 631 s: "),
        said.get(1));
  }

  @Test
  void aNodeNoLongerAloneStartsAnew() {
    AloneHint hint = new AloneHint();
    List<String> said = new ArrayList<>();
    long t0 = 1_000 * S;
    hint.next(true, t0, said::add);
    hint.next(true, t0 + 30 * S, said::add);
    assertEquals(1, said.size());

    assertEquals("", hint.next(false, t0 + 31 * S, said::add), "a worker came");
    assertEquals("", hint.next(true, t0 + 32 * S, said::add));
    assertEquals("", hint.next(true, t0 + 61 * S, said::add), "30 s alone anew first");
    assertEquals(AloneHint.TAIL, hint.next(true, t0 + 62 * S, said::add));
    assertEquals(List.of(AloneHint.line(30), AloneHint.line(30)), said);
  }
}
