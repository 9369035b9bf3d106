package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Real node processes started from the runnable jar with the shipped configuration (only the heap is capped), each
 * with its output (stdout and stderr) gathered line by line. {@link #close} kills and awaits every process started.
 */
final class NodeProcesses implements AutoCloseable {

  /** One node process and its output so far. */
  record Node(Process process, Queue<String> lines) {
    String output() {
      return String.join("\n", lines);
    }

    /** Waits up to {@code seconds} for a line that passes {@code test}; false if none came. */
    boolean awaitLine(Predicate<String> test, long seconds) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < deadline) {
        if (lines.stream().anyMatch(test)) {
          return true;
        }
        Thread.sleep(100);
      }
      return lines.stream().anyMatch(test);
    }
  }

  private final List<Process> started = new ArrayList<>();

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  Node launch(String... args) throws IOException {
    String jar = System.getProperty("prover.jar", "target/prover-node.jar");
    assertTrue(Files.exists(Path.of(jar)), "the runnable jar is built by package: " + jar);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-jar");
    command.add(jar);
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    started.add(process);
    Queue<String> lines = new ConcurrentLinkedQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          lines.add(line);
        }
      } catch (IOException ignored) {
        // the process went away
      }
    });
    reader.setDaemon(true);
    reader.start();
    return new Node(process, lines);
  }

  @Override
  public void close() throws InterruptedException {
    for (Process process : started) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
    for (Process process : started) {
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "process " + process.pid() + " did not end");
      assertFalse(process.isAlive());
    }
  }
}
