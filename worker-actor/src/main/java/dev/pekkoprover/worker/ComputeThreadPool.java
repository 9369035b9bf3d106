package dev.pekkoprover.worker;

import com.typesafe.config.Config;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.dispatch.DispatcherPrerequisites;
import org.apache.pekko.dispatch.ExecutorServiceConfigurator;
import org.apache.pekko.dispatch.ExecutorServiceFactory;
import org.apache.pekko.dispatch.MonitorableThreadFactory;

/**
 * The executor of the workers' compute dispatcher ({@code executor =
 * "dev.pekkoprover.worker.ComputeThreadPool"}): the JDK's cached thread pool, a thread per running
 * compute, idle threads kept 60 s. Not a fixed pool, because a compute that hangs for good keeps
 * its thread after its worker restarts; a fixed pool would lose a thread to each such hang until
 * nothing could run. The queue bounds the running computes (no worker holds more than its
 * concurrency).
 */
public final class ComputeThreadPool extends ExecutorServiceConfigurator {
  public ComputeThreadPool(Config config, DispatcherPrerequisites prerequisites) {
    super(config, prerequisites);
  }

  @Override
  public ExecutorServiceFactory createExecutorServiceFactory(
      String id, ThreadFactory threadFactory) {
    // thread names carry the dispatcher's id, as Pekko's own executors do:
    // "<system>-prover.worker.compute-dispatcher-7"
    ThreadFactory named =
        threadFactory instanceof MonitorableThreadFactory monitorable
            ? monitorable.withName(monitorable.name() + "-" + id)
            : threadFactory;
    return () ->
        new ThreadPoolExecutor(
            0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), named);
  }

  /**
   * Runs {@code work} on {@code executor} (the compute dispatcher). The stage completes with what
   * the work returned, or exceptionally with what it threw, {@link Error}s included, as it is (not
   * wrapped in a {@code CompletionException}): so a worker that pipes it to itself sees the
   * compute's own failure.
   */
  static <T> CompletionStage<T> submit(Executor executor, Callable<T> work) {
    CompletableFuture<T> outcome = new CompletableFuture<>();
    try {
      executor.execute(
          () -> {
            try {
              outcome.complete(work.call());
            } catch (Throwable failure) {
              outcome.completeExceptionally(failure);
            }
          });
    } catch (RejectedExecutionException e) {
      outcome.completeExceptionally(e);
    }
    return outcome;
  }
}
