package dev.pekkoprover.cluster;

import dev.pekkoprover.node.DowningSettingsCheck;
import dev.pekkoprover.node.FlowFailedException;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.Termination;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;

/**
 * How a node process of the launcher ends once its actor system has terminated: with a code a
 * process supervisor acts on and one line saying why. Downed by the cluster: 3; terminated for any
 * other reason the launcher did not ask for: 2; left the cluster on the operator's word (Ctrl-C or
 * SIGTERM, which run CoordinatedShutdown from the JVM's shutdown hook, or a Leave): 0; left a
 * cluster without a stateful node for the one a seed runs ({@link IslandWatch}): 3; left because no
 * sequencer node was Up and reachable for {@code prover.worker.sequencer-absent-after} and the node
 * was started with {@code --exit-without-sequencer} ({@link SequencerWatch}): 4; left because the
 * plugin's job threw while the node was not stopping ({@link #jobFailed}): 1.
 *
 * <p>What a reader must not miss: on a signal the JVM would exit with 128 + the signal's number
 * (143 for SIGTERM), which systemd and most supervisors count as a failure; a shutdown hook of this
 * class halts the JVM with 0 once the actor system has terminated after its graceful leave. Only
 * after a signal ({@link SignalWatch}): Pekko leaves the JVM with {@code System.exit(-1)} after a
 * fatal error (an {@link OutOfMemoryError} on one of its threads), which runs the same hooks, and
 * that exit keeps its code (255) so that a supervisor restarts the node. The launcher's own exits
 * run those hooks too: it calls {@link #askedFor} first, or its exit would read as Pekko's. One
 * exit runs no hook: an actor system whose end stalled past {@link Termination}'s bound (a downed
 * node's 3 s, say) halts the JVM with its code once its lines are written ({@link #haltsAfter}), as
 * Pekko's own hook would otherwise wait out the stalled phase's timeout.
 */
final class NodeExit {
  static final int LEFT = 0;
  static final int JOB_FAILED = 1;
  static final int TERMINATED = 2;
  static final int DOWNED = 3;
  static final int NO_SEQUENCER = 4;

  /** The shutdown reason of a node that leaves for want of a sequencer ({@link SequencerWatch}). */
  enum NoSequencer implements CoordinatedShutdown.Reason {
    INSTANCE;

    /** As {@code /health/ready} names it while the node leaves. */
    @Override
    public String toString() {
      return "no sequencer node was Up and reachable (--exit-without-sequencer)";
    }
  }

  /**
   * How long the JVM's shutdown hook waits for the graceful leave, after the workers' drain ({@code
   * prover.worker.drain-timeout}), before the JVM exits with the signal's code.
   */
  private static final Duration LEAVE_TIMEOUT = Duration.ofSeconds(60);

  /** The exit code and the line that says why (null: nothing to say). */
  record Outcome(int code, String line) {}

  private final ActorSystem<?> system;
  private final CompletableFuture<Boolean> ended;
  private final String self;
  private final AtomicBoolean askedFor = new AtomicBoolean();

  /** The node has been Up in the cluster (else it stops before it ever joined). */
  private final AtomicBoolean joined = new AtomicBoolean();

  private final SignalWatch signals;

  /**
   * The node runs a bounded job with {@code --exit-when-done}, which had not ended when the node
   * began to stop: a signal then keeps its code, as {@code run} does.
   */
  private final AtomicBoolean jobUnfinished = new AtomicBoolean();

  /** This node's downing settings, for the line of a node the cluster refused. */
  private final String downingSettings;

  NodeExit(ProverNode node, String self) {
    this.system = node.system();
    this.downingSettings = DowningSettingsCheck.shown(system.settings().config());
    this.ended = node.ended();
    this.self = self;
    this.signals = SignalWatch.start();
    org.apache.pekko.cluster.Cluster.get(
            org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system))
        .registerOnMemberUp(() -> joined.set(true));
    Runtime.getRuntime().addShutdownHook(new Thread(this::onJvmShutdown, "node-exit"));
  }

  /**
   * Completes when the actor system has terminated (true), or has stalled in its last shutdown
   * phase past the bound of {@link Termination} (false): either way the node is out of the cluster.
   */
  CompletableFuture<Boolean> terminated() {
    return ended;
  }

  /**
   * The launcher stops the node itself (after the job): the code is the launcher's, nothing to
   * report.
   */
  void askedFor() {
    askedFor.set(true);
  }

  /**
   * Whether a node's bounded job was cut short by the node's stop, as its coordinated shutdown
   * begins: it had not ended, or it failed while the launcher was not the one stopping the node (it
   * failed because its node began to stop). A job that ended, or that failed on its own (the
   * launcher said so and stops the node: {@code launcherStops}), was not.
   */
  static boolean jobCutShort(CompletableFuture<?> run, boolean launcherStops) {
    return !run.isDone() || (run.isCompletedExceptionally() && !launcherStops);
  }

  /** Whether the launcher stops the node itself ({@link #askedFor()}): a job's end or failure. */
  boolean launcherStops() {
    return askedFor.get();
  }

  /**
   * The node's {@code --exit-when-done} job had not ended when the node began to stop (said from
   * its coordinated shutdown, before the node leaves): a stop signal then exits with the signal's
   * code (143 for SIGTERM) instead of 0, since that exit code is the job's verdict and a supervisor
   * (a Kubernetes Job, systemd) must not take a job cut short for one that ended.
   */
  void jobUnfinished() {
    jobUnfinished.set(true);
  }

  /** Whether the node has been Up in a cluster. */
  boolean joined() {
    return joined.get();
  }

  /**
   * Whether the node is on its way out of the cluster (CoordinatedShutdown has begun, which it does
   * before any actor stops, or the member, once Up, is no longer: downed or leaving, its shutdown
   * about to begin): a job that failed meanwhile failed because its node went away, not on its own.
   * A node that has not been Up yet (joining, or not a member) is not on its way out: a job that
   * failed then failed on its own (taken for a stop, it left the launcher waiting for a shutdown
   * that never came).
   */
  boolean stopping() {
    if (reason().isPresent() || ended.isDone()) {
      return true;
    }
    if (!joined.get()) {
      return false;
    }
    MemberStatus status =
        org.apache.pekko.cluster.Cluster.get(
                org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(system))
            .selfMember()
            .status();
    return status != MemberStatus.up() && status != MemberStatus.weaklyUp();
  }

  /**
   * Waits until the actor system has terminated, prints why (unless a signal stopped it) and
   * returns the code; when its end stalled past {@link Termination}'s bound, halts the JVM with
   * that code instead (no other shutdown hook runs).
   */
  int awaitTermination() {
    boolean terminated = ended.join();
    if (!terminated) {
      System.err.println(Termination.stalledLine(system, self));
    }
    Outcome outcome = outcome(reason(), self, joined.get(), downingSettings);
    if (outcome.line() != null && !isSignal(reason())) {
      System.err.println(outcome.line());
    }
    System.out.flush();
    System.err.flush();
    if (haltsAfter(terminated, reason())) {
      // System.exit would run Pekko's JVM shutdown hook, which waits for the shutdown under way to
      // finish: for the stalled phase's own timeout (10 s), however short Termination's bound was
      // (a downed node's 3 s). The node is out of the cluster and its lines are written. After a
      // signal, or Pekko's own System.exit, the JVM is exiting already and its hooks decide.
      Runtime.getRuntime().halt(outcome.code());
    }
    return outcome.code();
  }

  private Optional<CoordinatedShutdown.Reason> reason() {
    return CoordinatedShutdown.get(system).getShutdownReason();
  }

  /**
   * Whether {@link #awaitTermination} halts the JVM rather than returning the code to {@code
   * System.exit}: when the actor system's end stalled past {@link Termination}'s bound, unless the
   * JVM is exiting already (a signal, or Pekko's own {@code System.exit} after a fatal error: both
   * carry Pekko's JVM-exit reason, and the shutdown hooks decide that code).
   */
  static boolean haltsAfter(boolean terminated, Optional<CoordinatedShutdown.Reason> reason) {
    return !terminated && !isSignal(reason);
  }

  private static boolean isSignal(Optional<CoordinatedShutdown.Reason> reason) {
    return reason.isPresent() && reason.get() == CoordinatedShutdown.jvmExitReason();
  }

  /**
   * A signal: Pekko's own hook leaves the cluster; once the system is gone, exit with 0 instead of
   * 143.
   */
  private void onJvmShutdown() {
    if (askedFor.get()) {
      return;
    }
    try {
      Duration drain = system.settings().config().getDuration("prover.worker.drain-timeout");
      ended.get(LEAVE_TIMEOUT.plus(drain).toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return; // not gone in time: the JVM exits with the signal's code
    }
    if (signals.exitFromWithin(reason())) {
      System.err.println(SignalWatch.exitFromWithinLine("node " + self + " left the cluster"));
      System.err.flush();
      return; // the JVM exits with the code System.exit was given
    }
    if (signals.stoppedBySignal(reason()) && jobUnfinished.get()) {
      System.err.println(
          jobCutShortLine(self, signals.signalName(), signals.signalCode(), joined.get()));
      System.out.flush();
      System.err.flush();
      return; // the JVM exits with the signal's code
    }
    if (signals.stoppedBySignal(reason())) {
      System.err.println(outcome(reason(), self, joined.get(), downingSettings).line());
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(LEFT);
    }
  }

  /**
   * The ERROR line of a plugin's job that threw on a node that was not stopping, said before the
   * node leaves the cluster (which waits up to {@code prover.worker.drain-timeout} for its
   * workers), or before it stops if it never joined one ({@code joined} false: its seeds did not
   * let it in before the job gave up).
   */
  static String jobFailureLine(String self, String plugin, Throwable failure, boolean joined) {
    return "plugin "
        + plugin
        + "'s job failed: "
        + failureMessage(failure)
        + "; node "
        + self
        + (joined ? " leaves the cluster" : " stops (it never joined a cluster)")
        + " and exits with code "
        + JOB_FAILED;
  }

  /**
   * What a sequencer node stopped (a signal) before its bounded job ended says of the job (standard
   * output, after the job's last progress line): that it did not finish, and whether its work
   * survives. {@code durable}: the node has a database ({@code --db-url}), which keeps every result
   * and batch proof its flows stored, so the same command resumes from them.
   */
  static String jobUnfinishedLine(String self, String plugin, boolean durable) {
    return "plugin "
        + plugin
        + "'s job did not finish: node "
        + self
        + " stopped before its end; "
        + (durable
            ? "what its flows stored stays in the database: the same command resumes from it"
            : "nothing of it was kept (no --db-url): a new run starts over");
  }

  /**
   * The last line of a node whose {@code --exit-when-done} job a stop signal cut short, once it has
   * left the cluster: it exits with the signal's code ({@code code}), not 0.
   */
  static String jobCutShortLine(String self, String signal, int code, boolean joined) {
    return "node "
        + self
        + (joined
            ? " left the cluster: stopped by "
            : " stopped before it ever joined a cluster, by ")
        + signal
        + " before its job ended (--exit-when-done), exiting with the signal's code "
        + code
        + ", not "
        + LEFT
        + ", so that a supervisor does not take the job for finished";
  }

  /**
   * The exit after {@link #jobFailureLine}, once the node has left the cluster, or stopped if it
   * never joined one.
   */
  static Outcome jobFailed(String self, String plugin, boolean joined) {
    return new Outcome(
        JOB_FAILED,
        "node "
            + self
            + (joined ? " left the cluster" : " stopped before it ever joined the cluster")
            + ": plugin "
            + plugin
            + "'s job failed (its error is logged above): exiting with code "
            + JOB_FAILED);
  }

  /**
   * What went wrong, for {@link #jobFailureLine}: a failed flow's message, which names the task and
   * the reason, or any other throwable's class and message.
   */
  static String failureMessage(Throwable failure) {
    Throwable cause = firstSaying(failure);
    return cause instanceof FlowFailedException ? cause.getMessage() : cause.toString();
  }

  /**
   * Whether {@link #jobFailureLine} is worth a stack trace: not for a failed flow, whose trace
   * shows only the framework's internals (its message already names the task and the reason).
   */
  static boolean worthATrace(Throwable failure) {
    return !(firstSaying(failure) instanceof FlowFailedException);
  }

  /**
   * The first throwable of {@code failure}'s cause chain that says more than the one it wraps: a
   * {@code CompletionException} from a {@code join()}, or any wrapper made with only a cause, has
   * its cause's {@code toString()} as its message.
   */
  private static Throwable firstSaying(Throwable failure) {
    Throwable cause = failure;
    while (cause.getCause() != null
        && (cause.getMessage() == null || cause.getMessage().equals(cause.getCause().toString()))) {
      cause = cause.getCause();
    }
    return cause;
  }

  /**
   * @param joined the node was Up in the cluster at some point: one stopped before it ever joined
   *     (a wrong seed, CA or cluster name) does not say it left
   */
  static Outcome outcome(
      Optional<CoordinatedShutdown.Reason> reason,
      String self,
      boolean joined,
      String downingSettings) {
    if (reason.isPresent()) {
      CoordinatedShutdown.Reason why = reason.get();
      if (why == CoordinatedShutdown.incompatibleConfigurationDetectedReason()) {
        return new Outcome(
            TERMINATED,
            "node "
                + self
                + " was refused by the cluster: its settings differ from the cluster's in what"
                + " every node must agree on, such as how it downs nodes (this node's: "
                + downingSettings
                + "); Pekko's line above ('sent back incompatible settings') or the seed node's"
                + " WARN ('Found incompatible settings') names the setting: exiting with code "
                + TERMINATED
                + "; start it again with the cluster's settings");
      }
      if (why == CoordinatedShutdown.clusterDowningReason()) {
        return new Outcome(
            DOWNED,
            "node "
                + self
                + " was downed by the cluster (the split-brain resolver or the "
                + "oldest stateful node found it unreachable, or an operator downed it): exiting with code "
                + DOWNED
                + " so that a process supervisor restarts it");
      }
      if (why instanceof IslandWatch.LeftIsland island) {
        return new Outcome(
            DOWNED,
            "node "
                + self
                + (island.fewerStateful()
                    ? " left its cluster, which had fewer stateful nodes than the one its seed "
                    : " left its cluster, which had no stateful node, for the one its seed ")
                + island.seed()
                + " runs: exiting with code "
                + DOWNED
                + " so that a process supervisor restarts it into that cluster");
      }
      if (why == NoSequencer.INSTANCE) {
        return new Outcome(
            NO_SEQUENCER,
            "node "
                + self
                + " left the cluster: no sequencer node was Up and reachable "
                + "(--exit-without-sequencer): exiting with code "
                + NO_SEQUENCER
                + " so that a process supervisor decides what next");
      }
      if (why == CoordinatedShutdown.jvmExitReason()) {
        return new Outcome(
            LEFT,
            joined
                ? "node "
                    + self
                    + " left the cluster: stopped by a signal, exiting with code "
                    + LEFT
                : "node "
                    + self
                    + " stopped by a signal before it ever joined the cluster, exiting with code "
                    + LEFT);
      }
      if (why == CoordinatedShutdown.clusterLeavingReason()) {
        return new Outcome(
            LEFT,
            "node "
                + self
                + " left the cluster (a Leave was given for it): exiting with code "
                + LEFT);
      }
    }
    return new Outcome(
        TERMINATED,
        "node "
            + self
            + " stopped without being asked to (CoordinatedShutdown reason: "
            + reason.map(Object::toString).orElse("none")
            + "): exiting with code "
            + TERMINATED
            + " so that a process supervisor restarts it");
  }
}
