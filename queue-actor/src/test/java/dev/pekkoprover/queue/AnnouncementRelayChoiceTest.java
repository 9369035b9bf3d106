package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.protocol.QueueCommand;
import dev.pekkoprover.testing.TestConfig;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.util.Version;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which queue node's front a node without the queue role sends its workers' messages through: an
 * offer taken only while there is none, the oldest reachable queue node once the node is Up, and
 * the next one when the target becomes unreachable or leaves. Membership and reachability events
 * are made up here (one actor system with the cluster provider that joins nothing), so each case is
 * exact; {@code AnnouncementRelayTest} (cluster-config) runs the relay in a real cluster.
 */
@ExtendWith(LogCapturingExtension.class)
class AnnouncementRelayChoiceTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(
          "relay-choice",
          ConfigFactory.parseString(
                  "pekko.actor.provider = cluster\npekko.remote.artery.canonical.port = 0")
              .withFallback(TestConfig.config()));

  private static final Address SELF = address(2551);

  /** This node's member: {@code up(SELF, 4, ...)} has this unique address. */
  private static final UniqueAddress SELF_INCARNATION = new UniqueAddress(SELF, 4L);

  private static final Member Q_OLD = up(address(2552), 1, "queue");
  private static final Member Q_YOUNG = up(address(2553), 2, "queue");
  private static final Member WORKER = up(address(2554), 3, "worker");

  /** One call on the relay, answered with what it returned and the target after it. */
  private record Step(Function<AnnouncementRelay, Boolean> call, ActorRef<Outcome> replyTo)
      implements QueueCommand, NoSerializationVerificationNeeded {}

  private record Outcome(boolean changed, Optional<Address> target)
      implements NoSerializationVerificationNeeded {}

  private final TestProbe<Outcome> outcomes = testKit.createTestProbe();
  private ActorRef<QueueCommand> holder;

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  private static Address address(int port) {
    return new Address("pekko", "relay-choice", "127.0.0.1", port);
  }

  private static Member up(Address address, int upNumber, String role) {
    scala.collection.immutable.Set<String> roles =
        scala.jdk.javaapi.CollectionConverters.asScala(Set.of(role, "dc-default")).toSet();
    return new Member(
            new UniqueAddress(address, (long) upNumber),
            0,
            MemberStatus.joining(),
            roles,
            Version.Zero())
        .copyUp(upNumber);
  }

  /** Whether the relay's node has workers that announced themselves. */
  private final AtomicBoolean withWorkers = new AtomicBoolean(true);

  private Behavior<QueueCommand> holding() {
    return Behaviors.setup(
        context -> {
          AnnouncementRelay relay =
              new AnnouncementRelay(context, "queue", SELF_INCARNATION, withWorkers::get);
          return Behaviors.receive(QueueCommand.class)
              .onMessage(
                  Step.class,
                  step -> {
                    boolean changed = step.call().apply(relay);
                    step.replyTo()
                        .tell(new Outcome(changed, relay.target().map(t -> t.path().address())));
                    return Behaviors.same();
                  })
              .build();
        });
  }

  private Outcome call(Function<AnnouncementRelay, Boolean> call) {
    if (holder == null) {
      holder = testKit.spawn(holding());
    }
    holder.tell(new Step(call, outcomes.getRef()));
    return outcomes.receiveMessage();
  }

  private static Function<AnnouncementRelay, Boolean> event(ClusterEvent.MemberEvent event) {
    return relay -> relay.memberEvent(event);
  }

  private static Function<AnnouncementRelay, Boolean> reachability(
      ClusterEvent.ReachabilityEvent event) {
    return relay -> relay.reachabilityEvent(event);
  }

  private static Outcome changedTo(Member member) {
    return new Outcome(true, Optional.of(member.address()));
  }

  private static Outcome unchanged(Member target) {
    return new Outcome(false, Optional.ofNullable(target).map(Member::address));
  }

  @Test
  void aNodeWithoutWorkersSaysItsChoiceOfFrontAtDebugOnly() {
    Member self = up(SELF, 4, "sequencer");
    withWorkers.set(false);
    LoggingTestKit.info("announce themselves through the queue front")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              call(event(new ClusterEvent.MemberUp(Q_OLD)));
              return assertEqualsThen(
                  changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(self))));
            });
    LoggingTestKit.info("have no queue front to announce themselves through")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () ->
                assertEqualsThen(
                    new Outcome(false, Optional.empty()),
                    call(reachability(new ClusterEvent.UnreachableMember(Q_OLD)))));
  }

  @Test
  void aWorkerThatAnnouncesAfterTheChoiceHasItSaidOnceAtInfo() {
    Member self = up(SELF, 4, "worker");
    withWorkers.set(false);
    call(event(new ClusterEvent.MemberUp(Q_OLD)));
    assertEquals(changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(self))));
    LoggingTestKit.info("this node's workers announce themselves through the queue front on")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              withWorkers.set(true); // the front keeps the announcement before it tells the relay
              call(
                  relay -> {
                    relay.workerAnnounced();
                    relay.workerAnnounced(); // a second worker, or a restart: said once only
                    return false;
                  });
              return null;
            });
    // every worker stopped, then the front was lost: said at DEBUG, and at INFO once a worker
    // announces itself again
    withWorkers.set(false);
    assertEquals(
        new Outcome(false, Optional.empty()),
        call(reachability(new ClusterEvent.UnreachableMember(Q_OLD))));
    LoggingTestKit.info("have no queue front to announce themselves through")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              withWorkers.set(true);
              call(
                  relay -> {
                    relay.workerAnnounced();
                    return false;
                  });
              return null;
            });
  }

  @Test
  void aNodeWithWorkersSaysItsChoiceOfFrontAtInfo() {
    Member self = up(SELF, 4, "worker");
    LoggingTestKit.info("this node's workers announce themselves through the queue front on")
        .withOccurrences(1)
        .expect(
            testKit.system(),
            () -> {
              call(event(new ClusterEvent.MemberUp(Q_OLD)));
              return assertEqualsThen(
                  changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(self))));
            });
  }

  private static Void assertEqualsThen(Outcome expected, Outcome actual) {
    assertEquals(expected, actual);
    return null;
  }

  @Test
  void theOldestReachableQueueNodeOnceThisNodeIsUpThenTheNextWhenItIsLost() {
    assertEquals(unchanged(null), call(event(new ClusterEvent.MemberUp(Q_YOUNG))));
    assertEquals(unchanged(null), call(event(new ClusterEvent.MemberUp(Q_OLD))));
    assertEquals(unchanged(null), call(event(new ClusterEvent.MemberUp(WORKER))), "no role");
    Member self = up(SELF, 4, "worker");
    assertEquals(changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(self))), "Up: the oldest");
    assertEquals(
        unchanged(Q_OLD),
        call(relay -> relay.offered(testKit.<QueueCommand>createTestProbe().getRef())),
        "an offer while there is a target is not taken");

    assertEquals(changedTo(Q_YOUNG), call(reachability(new ClusterEvent.UnreachableMember(Q_OLD))));
    assertEquals(
        unchanged(Q_YOUNG),
        call(reachability(new ClusterEvent.ReachableMember(Q_OLD))),
        "back, but the target stays: no switch without a reason");
    assertEquals(
        changedTo(Q_OLD),
        call(reachability(new ClusterEvent.UnreachableMember(Q_YOUNG))),
        "the target lost, the other one reachable again: taken");
  }

  @Test
  void aLeavingTargetIsLeftAndWithNoReachableQueueNodeThereIsNoneUntilOneComesBack() {
    upWithTheOldestQueueNodeAsTarget();
    assertEquals(unchanged(Q_OLD), call(reachability(new ClusterEvent.UnreachableMember(Q_YOUNG))));
    assertEquals(
        unchanged(null),
        call(event(new ClusterEvent.MemberLeft(Q_OLD.copy(MemberStatus.leaving())))),
        "the only other queue node is unreachable: none, the announcements are held");
    assertEquals(
        changedTo(Q_YOUNG),
        call(reachability(new ClusterEvent.ReachableMember(Q_YOUNG))),
        "reachable again: taken");
  }

  @Test
  void aWithdrawnTargetIsLeftAtOnceAndNotTakenAgainUntilItsNodeIsRemoved() {
    upWithTheOldestQueueNodeAsTarget();
    assertEquals(
        changedTo(Q_YOUNG),
        call(relay -> relay.withdrawn(Q_OLD.address())),
        "its node shuts down: the next one, before the node is even Leaving");
    assertEquals(
        unchanged(Q_YOUNG),
        call(event(new ClusterEvent.MemberLeft(Q_OLD.copy(MemberStatus.leaving())))),
        "its Leaving after that changes nothing");
    assertEquals(
        unchanged(Q_YOUNG),
        call(relay -> relay.withdrawn(address(2599))),
        "a node that was not the target: nothing changes");
    assertEquals(
        unchanged(null),
        call(relay -> relay.withdrawn(Q_YOUNG.address())),
        "the last one withdrew: none, the announcements are held");
    assertEquals(
        unchanged(null),
        call(event(new ClusterEvent.MemberUp(Q_YOUNG))),
        "its Up seen late is not taken");
    TestProbe<QueueCommand> atYoung =
        testKit.createTestProbe(); // an offer from the withdrawn node's front
    assertEquals(
        unchanged(null),
        call(
            relay ->
                relay.offered(
                    AnnouncementRelay.frontAt(
                        testKit.system(), atYoung.getRef(), Q_YOUNG.address()))),
        "nor its offer");
  }

  @Test
  void anOfferBeforeThisNodeSeesItselfUpIsTakenAndKept() {
    TestProbe<QueueCommand> offering = testKit.createTestProbe();
    assertEquals(unchanged(null), call(event(new ClusterEvent.MemberUp(Q_OLD))), "not Up yet");
    Outcome offered = call(relay -> relay.offered(offering.getRef()));
    assertEquals(new Outcome(true, Optional.of(offering.getRef().path().address())), offered);
    assertEquals(
        new Outcome(false, Optional.of(offering.getRef().path().address())),
        call(event(new ClusterEvent.MemberUp(up(SELF, 4, "worker")))),
        "its own Up does not replace the front that offered first");
  }

  /**
   * As this node's own cluster shuts down, Pekko reports every member removed. The front took that
   * for the loss of its queue node: it said at INFO that its workers had no queue front, or moved
   * to the next queue node and said that, while nothing had happened to the queue nodes.
   */
  @Test
  void whileThisNodeLeavesALostTargetIsNeitherReplacedNorSaid() {
    Member self = upWithTheOldestQueueNodeAsTarget();
    assertEquals(
        unchanged(Q_OLD),
        call(event(new ClusterEvent.MemberLeft(self.copy(MemberStatus.leaving())))),
        "its own leave");
    LoggingTestKit.info("queue front")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () -> {
              assertEquals(
                  unchanged(null),
                  call(event(removed(Q_OLD))),
                  "the shutdown's removals: the target is gone, no other is taken");
              assertEquals(unchanged(null), call(event(removed(Q_YOUNG))));
              return null;
            });
  }

  /**
   * A node restarted with the same address is another member: the earlier incarnation's Up is not
   * this node's, and its removal does not make this node a leaving one.
   */
  @Test
  void anEarlierIncarnationAtThisNodesAddressIsAnotherMember() {
    Member earlier = up(SELF, 9, "worker");
    call(event(new ClusterEvent.MemberUp(Q_OLD)));
    call(event(new ClusterEvent.MemberUp(Q_YOUNG)));
    assertEquals(
        unchanged(null), call(event(new ClusterEvent.MemberUp(earlier))), "not this node's Up");
    assertEquals(unchanged(null), call(event(removed(earlier))));
    assertEquals(changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(up(SELF, 4, "worker")))));
    assertEquals(
        changedTo(Q_YOUNG),
        call(event(new ClusterEvent.MemberLeft(Q_OLD.copy(MemberStatus.leaving())))),
        "a lost target is still replaced");
  }

  /**
   * Both queue nodes Up, then this node: the oldest becomes the target. Returns this node's member.
   */
  private Member upWithTheOldestQueueNodeAsTarget() {
    Member self = up(SELF, 4, "worker");
    call(event(new ClusterEvent.MemberUp(Q_OLD)));
    call(event(new ClusterEvent.MemberUp(Q_YOUNG)));
    assertEquals(changedTo(Q_OLD), call(event(new ClusterEvent.MemberUp(self))));
    return self;
  }

  private static ClusterEvent.MemberRemoved removed(Member member) {
    return new ClusterEvent.MemberRemoved(member.copy(MemberStatus.removed()), MemberStatus.up());
  }
}
