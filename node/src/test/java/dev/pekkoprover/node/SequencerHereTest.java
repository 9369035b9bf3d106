package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What {@code /status}'s {@code node.sequencer} says on a node with role sequencer. */
class SequencerHereTest {

  @Test
  void activeHereStartingHereOrStandingByForAnotherNode() {
    assertEquals("active", ProverNode.sequencerHere(false, true, true, false));
    // the oldest with role sequencer before the singleton started here: after the last one's node
    // was removed, or at the cluster's start (a trial read "standby" beside its own address)
    assertEquals("starting", ProverNode.sequencerHere(true, false, true, false));
    assertEquals("standby", ProverNode.sequencerHere(true, false, false, false));
    // it ran here and stopped: not about to start again (a review)
    assertEquals("stopped", ProverNode.sequencerHere(true, true, true, false));
    assertEquals("stopped", ProverNode.sequencerHere(true, true, false, false));
  }

  @Test
  void aNodeNotUpYetIsJoiningNotAStandby() {
    // not joined, Joining or WeaklyUp: the singleton cannot start here, so it is not standing by
    assertEquals("joining", ProverNode.sequencerHere(true, false, false, true));
    // the sequencerMember rule counts only Up or Leaving members, so this pair does not arise;
    // joining still wins, as no singleton starts on a node that is not Up
    assertEquals("joining", ProverNode.sequencerHere(true, false, true, true));
  }
}
