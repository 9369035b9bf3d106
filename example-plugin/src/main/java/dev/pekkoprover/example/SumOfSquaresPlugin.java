package dev.pekkoprover.example;

import com.typesafe.config.Config;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.CborSerializable;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.protocol.flow.FanOut;
import dev.pekkoprover.protocol.flow.FlowLogic;
import dev.pekkoprover.sequencer.StartupPlan;
import java.io.PrintStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * A plugin of your own for the shipped launcher: workers sum the squares of ranges of numbers
 * ({@link SquareSumTask}), and the sequencer's job adds their sums up and checks the total against
 * the closed form n(n+1)(2n+1)/6. Its settings are {@code example.sum-of-squares} (this jar's
 * reference.conf; {@code -Dexample.sum-of-squares.up-to=...}). Listed in {@code
 * META-INF/services/dev.pekkoprover.node.ProverPlugin}.
 */
public final class SumOfSquaresPlugin implements ProverPlugin {
  /** Nothing to compile: workers register with these fixed parameters. */
  public record Parameters(String version) implements CborSerializable {}

  /** The flow's result: the total and the workers that computed its parts. */
  public record Total(long sum, List<String> workers) implements CborSerializable {}

  private static final SquareSumTask TASK = new SquareSumTask();

  @Override
  public String name() {
    return "sum-of-squares";
  }

  @Override
  public TaskCatalog catalog(Config config) {
    return TaskCatalog.of(TASK);
  }

  @Override
  public StartupPlan<?, ?> startupPlan(Config config) {
    return StartupPlan.fixed(new Parameters("sum-of-squares 1"));
  }

  /** The largest up-to whose sum of squares (about up-to^3 / 3) fits a long with room. */
  static final long MAX_UP_TO = 2_000_000;

  @Override
  public Job job(Config config) {
    long upTo = config.getLong("example.sum-of-squares.up-to");
    int tasks = config.getInt("example.sum-of-squares.tasks");
    if (upTo < 1 || upTo > MAX_UP_TO || tasks < 1 || tasks > upTo) {
      throw new IllegalArgumentException(
          "example.sum-of-squares needs 1 <= tasks <= up-to <= "
              + MAX_UP_TO
              + " (the sum must fit a long), were tasks = "
              + tasks
              + " and up-to = "
              + upTo);
    }
    return (node, out) -> run(node, out, upTo, tasks);
  }

  private static Outcome run(ProverNode node, PrintStream out, long upTo, int tasks) {
    node.ready().toCompletableFuture().join();
    out.printf("proving the sum of the squares of 1..%d in %d task(s)%n", upTo, tasks);
    Total total =
        node.run("sum-of-squares-1-" + upTo + "-in-" + tasks, sumOfSquares(ranges(upTo, tasks)))
            .toCompletableFuture()
            .join();
    // n(n+1)(2n+1)/6 in BigInteger: the product overflows a long before the quotient does
    long direct =
        BigInteger.valueOf(upTo)
            .multiply(BigInteger.valueOf(upTo + 1))
            .multiply(BigInteger.valueOf(2 * upTo + 1))
            .divide(BigInteger.valueOf(6))
            .longValueExact();
    boolean ok = total.sum() == direct;
    return new Outcome(
        ok,
        String.format(
            "sum of squares 1..%d = %d (direct: %d), %d task(s) ran on worker(s) %s%n%s%n",
            upTo,
            total.sum(),
            direct,
            tasks,
            String.join(",", total.workers()),
            ok
                ? "RESULT OK: the workers' sum matches the direct computation"
                : "RESULT FAILED: the sums differ"));
  }

  /** {@code 1..upTo} in {@code tasks} consecutive ranges whose sizes differ by at most one. */
  static List<Range> ranges(long upTo, int tasks) {
    List<Range> ranges = new ArrayList<>(tasks);
    long from = 1;
    for (int i = 0; i < tasks; i++) {
      long size = upTo / tasks + (i < upTo % tasks ? 1 : 0);
      ranges.add(new Range(from, from + size - 1));
      from += size;
    }
    return ranges;
  }

  /**
   * Every range as one task ({@link FanOut}); completes with the sum of their sums and the workers
   * that computed them once every result is in.
   */
  private static FlowLogic<Total> sumOfSquares(List<Range> ranges) {
    return new FanOut<>(
        TASK,
        ranges,
        parts ->
            new Total(
                parts.stream().mapToLong(PartialSum::sum).sum(),
                List.copyOf(new TreeSet<>(parts.stream().map(PartialSum::worker).toList()))));
  }
}
