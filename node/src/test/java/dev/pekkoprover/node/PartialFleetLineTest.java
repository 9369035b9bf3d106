package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.pekkoprover.protocol.FleetView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The {@code /status} problem line of a fleet view not every queue entity answered in time ({@link
 * NodeStatus#partialLine}): how many answered, why not, and which are shown as they last answered.
 */
class PartialFleetLineTest {

  /** {@code carried} entities carried over, the oldest {@code millis} old. */
  private static FleetView view(int answered, int asked, int carried, long millis, String why) {
    Map<String, Long> ages = new java.util.HashMap<>();
    for (int i = 0; i < carried; i++) {
      ages.put("t#" + i, i == 0 ? millis : millis / 2);
    }
    return new FleetView(
        List.of(), Map.of(), List.of(), 0, 0, answered, asked, List.of(), ages, why);
  }

  @Test
  void saysWhoAnsweredWhyAndWhatIsShownAsItLastWas() {
    assertEquals(
        "only 6 of 9 queue entities answered in time (queue node pekko://p@h:1 is unreachable):"
            + " the other 3 are shown as they last answered, up to 5 s ago",
        NodeStatus.partialLine(view(6, 9, 3, 4600, "queue node pekko://p@h:1 is unreachable")));
    // no reason known yet: where to look
    String unknown =
        " (no queue node is unreachable or leaving as far as this node knows yet: one lost just"
            + " now, which the failure detector marks within seconds, or one too busy to answer)";
    assertEquals(
        "only 0 of 9 queue entities answered in time"
            + unknown
            + ": 2 of the other 9 are shown as they last answered, up to 1 s ago, and 7 left out",
        NodeStatus.partialLine(view(0, 9, 2, 200, null)));
    assertEquals(
        "only 8 of 9 queue entities answered in time"
            + unknown
            + ": workers and queues are partial",
        NodeStatus.partialLine(view(8, 9, 0, 0, null)));
  }
}
