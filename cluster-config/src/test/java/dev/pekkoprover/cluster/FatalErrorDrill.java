package dev.pekkoprover.cluster;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.AbstractActor;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionId;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.actor.Props;

/**
 * A fault for process tests: a Pekko extension (loaded by a node started with {@code
 * -Dpekko.extensions.0=dev.pekkoprover.cluster.FatalErrorDrill} and the test classes on its class
 * path) that, once the file named by system property {@value #TRIGGER} exists, has an actor of the
 * node throw {@link OutOfMemoryError}: a fatal error on one of Pekko's threads, which Pekko answers
 * with {@code System.exit(-1)} ({@code pekko.jvm-exit-on-fatal-error}, on by default). The test
 * creates the file when it wants the fault, so it comes after the launcher has set up its exit.
 */
public final class FatalErrorDrill extends AbstractExtensionId<FatalErrorDrill.Armed>
    implements ExtensionIdProvider {
  /** The system property naming the trigger file. */
  public static final String TRIGGER = "prover.drill.fatal-error-when";

  /** Loaded by name from {@code pekko.extensions}: Pekko makes one with this constructor. */
  public FatalErrorDrill() {}

  @Override
  public ExtensionId<Armed> lookup() {
    return this;
  }

  @Override
  public Armed createExtension(ExtendedActorSystem system) {
    Path trigger = Path.of(System.getProperty(TRIGGER));
    ActorRef thrower = system.systemActorOf(Props.create(Thrower.class), "fatal-error-drill");
    AtomicBoolean fired = new AtomicBoolean();
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ofMillis(100),
            Duration.ofMillis(100),
            () -> {
              if (Files.exists(trigger) && fired.compareAndSet(false, true)) {
                thrower.tell("fail", ActorRef.noSender());
              }
            },
            system.dispatcher());
    return new Armed();
  }

  /** The extension itself: nothing to call. */
  public static final class Armed implements Extension {}

  /** Throws the fatal error on the first message, on a thread of Pekko's default dispatcher. */
  public static final class Thrower extends AbstractActor {
    @Override
    public Receive createReceive() {
      return receiveBuilder()
          .matchAny(
              any -> {
                throw new OutOfMemoryError("fatal error drill (FatalErrorDrill)");
              })
          .build();
    }
  }
}
