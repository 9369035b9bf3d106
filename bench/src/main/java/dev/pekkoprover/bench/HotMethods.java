package dev.pekkoprover.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Reads a JFR recording and prints where the CPU samples fall: the top methods by self time (the
 * sampled frame), by total time (anywhere on the stack), and the framework's own methods ({@code
 * dev.pekkoprover}) by total time. The profiling step of {@code BENCHMARKS.md}; works on Java 17,
 * which has no {@code jfr view}.
 *
 * <pre>{@code
 * java -XX:StartFlightRecording=filename=/tmp/tp.jfr,settings=profile -jar bench/target/bench.jar throughput
 * java -cp bench/target/bench.jar dev.pekkoprover.bench.HotMethods /tmp/tp.jfr [top]
 * }</pre>
 */
public final class HotMethods {
  private HotMethods() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: HotMethods <recording.jfr> [top=25]");
      System.exit(2);
    }
    int top = args.length > 1 ? Integer.parseInt(args[1]) : 25;
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> total = new HashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    Map<String, Integer> components = new HashMap<>();
    Map<String, Integer> selfByCaller = new HashMap<>();
    int samples = 0;
    for (RecordedEvent event : RecordingFile.readAllEvents(Path.of(args[0]))) {
      if (!event.getEventType().getName().equals("jdk.ExecutionSample")) {
        continue;
      }
      RecordedStackTrace stack = event.getStackTrace();
      if (stack == null || stack.getFrames().isEmpty()) {
        continue;
      }
      samples++;
      var thread = event.getThread("sampledThread");
      threads.merge(thread == null ? "?" : threadGroup(thread.getJavaName()), 1, Integer::sum);
      List<RecordedFrame> frames = stack.getFrames();
      self.merge(name(frames.get(0)), 1, Integer::sum);
      if (frames.size() > 1) {
        selfByCaller.merge(name(frames.get(0)) + "  <-  " + name(frames.get(1)), 1, Integer::sum);
      }
      components.merge(
          component(frames, thread == null ? "?" : thread.getJavaName()), 1, Integer::sum);
      Set<String> seen = new HashSet<>();
      for (RecordedFrame frame : frames) {
        String name = name(frame);
        if (seen.add(name)) {
          total.merge(name, 1, Integer::sum);
        }
      }
    }
    System.out.println("# " + samples + " execution samples");
    print("threads", threads, samples, top);
    print(
        "component (the framework actor whose message was being handled)",
        components,
        samples,
        top);
    print("self", self, samples, top);
    print("self, with its caller", selfByCaller, samples, top);
    print("total", total, samples, top);
    Map<String, Integer> ours = new HashMap<>();
    total.forEach(
        (name, count) -> {
          if (name.startsWith("dev.pekkoprover.") && !name.startsWith("dev.pekkoprover.bench.")) {
            ours.put(name, count);
          }
        });
    print("framework (total)", ours, samples, top);
  }

  /**
   * Which part of the system a sample belongs to: the innermost framework actor class on the stack
   * (queue, worker, flow, sequencer), else Pekko's own machinery on a dispatcher thread, else the
   * thread.
   */
  /**
   * The queue actor's plain classes (its bookkeeping and what it split out): their samples count as
   * the actor's.
   */
  private static final Set<String> PLAIN_QUEUE_CLASSES =
      Set.of("TaskQueueState", "WorkerLadder", "IntrusiveList", "WorkerOutbox", "QueueStatus");

  private static String component(List<RecordedFrame> frames, String thread) {
    for (RecordedFrame frame : frames) {
      String type = frame.getMethod().getType().getName();
      if (type.startsWith("dev.pekkoprover.")
          && !type.startsWith("dev.pekkoprover.bench.")
          && !type.startsWith("dev.pekkoprover.protocol.")) {
        int dollar = type.indexOf('$');
        String outer = dollar < 0 ? type : type.substring(0, dollar);
        if (PLAIN_QUEUE_CLASSES.contains(outer.substring(outer.lastIndexOf('.') + 1))) {
          continue; // report it under the actor that called it
        }
        return outer.substring(outer.lastIndexOf('.') + 1);
      }
    }
    for (RecordedFrame frame : frames) {
      if (frame.getMethod().getType().getName().equals("org.apache.pekko.dispatch.Mailbox")) {
        return "pekko (mailbox, dispatch, no framework frame)";
      }
    }
    return "thread " + threadGroup(thread);
  }

  private static String threadGroup(String name) {
    // "p-pekko.actor.default-dispatcher-5" -> "p-pekko.actor.default-dispatcher"
    return name == null ? "?" : name.replaceAll("-\\d+$", "");
  }

  private static String name(RecordedFrame frame) {
    return frame.getMethod().getType().getName() + "." + frame.getMethod().getName();
  }

  private static void print(String title, Map<String, Integer> counts, int samples, int top) {
    System.out.println("## " + title);
    counts.entrySet().stream()
        .sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
        .limit(top)
        .forEach(
            e -> System.out.printf("%6.1f%%  %s%n", 100.0 * e.getValue() / samples, e.getKey()));
  }
}
