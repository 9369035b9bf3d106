package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.protocol.FleetView;
import dev.pekkoprover.protocol.UnservedTypes;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;

/**
 * What a plugin's job waits for, said on the sequencer node's standard output while it waits: no
 * queue node Up, what holds its sequencer up (the status API's {@code problems}), or tasks pending
 * that no Ready worker serves (after 30 s alone in its cluster, with why: {@link AloneHint}); again
 * every 5 s with how long, and one line when the wait ends. The appchain's job has {@link
 * JobProgress} for this; a plugin's job (the README's sum-of-squares example) waited in silence: a
 * trial re-ran the example's sequencer command while its worker node still ran, the new node formed
 * a cluster of its own, and it said nothing more than the job's first line until the trial's 90 s
 * timeout. Not on a standby, whose job waits for the sequencer to come to its node (it says so
 * itself), nor once the node shuts down.
 */
final class PluginJobWait implements AutoCloseable {
  private static final Duration TICK = Duration.ofSeconds(1);

  private final ProverNode node;
  private final PrintStream out;
  private final String prefix;
  private final ScheduledExecutorService timer;

  /** The wait said last, if it goes on. */
  private final WaitLine waitLine = new WaitLine();

  private final AloneHint aloneHint = new AloneHint();

  /** Closed: a tick that was under way when {@link #close} came says nothing more. */
  private boolean closed;

  private PluginJobWait(ProverNode node, PrintStream out, String plugin) {
    this.node = node;
    this.out = out;
    this.prefix = "plugin " + plugin + "'s job: ";
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, plugin + "-job-wait");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Starts looking every second, until {@link #close}. */
  static PluginJobWait start(ProverNode node, PrintStream out, String plugin) {
    PluginJobWait wait = new PluginJobWait(node, out, plugin);
    wait.timer.scheduleWithFixedDelay(
        wait::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    return wait;
  }

  private void tick() {
    try {
      if (CoordinatedShutdown.get(node.system()).getShutdownReason().isPresent()
          || node.standingBy()) {
        return;
      }
      String what = JobProgress.clusterWait(node);
      if (what == null) {
        // what holds the sequencer up (a registration the queue refused, a database down) comes
        // before the workers it keeps from working: "start a worker" would send the reader astray
        List<String> problems = JobProgress.sequencerProblems(node);
        if (problems == null && JobProgress.HELD_UP.equals(waitKind())) {
          return; // no answer this tick: the hold-up is not known to be over, its line stays
        }
        what = problems == null ? null : JobProgress.heldUp(problems);
      }
      FleetView fleet = null;
      if (what == null) {
        // longer than the front's own timeout, within which it answers (JobProgress#queueAsk)
        fleet =
            node.fleet()
                .toCompletableFuture()
                .get(
                    JobProgress.queueAsk(node.system().settings().config()).toMillis(),
                    TimeUnit.MILLISECONDS);
        what = UnservedTypes.waitingLine(fleet);
      }
      long now = System.nanoTime();
      // the hint explains a wait: none while nothing waits
      boolean alone =
          what != null
              && fleet != null
              && fleet.workers().isEmpty()
              && JobProgress.aloneInCluster(node);
      say(what, aloneHint.next(alone, now, this::sayHint), now);
    } catch (Exception | LinkageError cannotTell) {
      // a queue that did not answer in time, an actor system going away: ask at the next tick
    }
  }

  /** The kind of the wait said last, if it goes on; null otherwise. */
  private synchronized String waitKind() {
    return waitLine.kind();
  }

  /** The whole alone hint, once it is due (and not after {@link #close}). */
  private synchronized void sayHint(String hint) {
    if (!closed) {
      out.println(prefix + hint);
    }
  }

  /**
   * Says {@code what} (null: nothing waits) as its {@link WaitLine} decides, at {@code now}, ending
   * with {@code tail} ({@link AloneHint#TAIL} or "").
   */
  private synchronized void say(String what, String tail, long now) {
    if (closed) {
      return;
    }
    if (what == null) {
      waitEnded(now);
      return;
    }
    WaitLine.Look look = waitLine.look(what, now, JobProgress.REPEAT_WAIT, false);
    if (look.due()) {
      out.println(prefix + look.line() + tail);
    }
  }

  /** The line that the wait is over, if one was said; the next wait starts anew. */
  private synchronized void waitEnded(long now) {
    long waited = waitLine.end(now);
    if (waited >= 0) {
      out.println(prefix + "no longer waiting (waited " + waited + " s)");
    }
  }

  /**
   * Stops looking; when the job has ended well ({@code jobEnded}; not when it failed, nor when the
   * node went away under it) a wait still said is over, which the next tick might not have seen
   * before the job's end. A tick under way says nothing after this (it could have come after the
   * job's summary).
   */
  void close(boolean jobEnded) {
    timer.shutdownNow();
    synchronized (this) {
      if (jobEnded) {
        waitEnded(System.nanoTime());
      }
      closed = true;
    }
  }

  @Override
  public void close() {
    close(false);
  }
}
