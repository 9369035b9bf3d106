package dev.pekkoprover.cluster;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * One launcher command run in this JVM, with what it printed to standard output and standard error.
 */
record LauncherRun(int code, String out, String err) {

  /**
   * Runs {@code prover-node <args>} as {@code main} would, minus the exit, capturing both streams.
   */
  static LauncherRun of(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = NodeLauncher.commandLine().execute(args);
      return new LauncherRun(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }
}
