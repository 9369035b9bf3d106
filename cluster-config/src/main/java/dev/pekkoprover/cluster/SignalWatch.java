package dev.pekkoprover.cluster;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.pekko.actor.CoordinatedShutdown;

/**
 * Tells whether the JVM is shutting down because of a signal. A shutdown hook cannot see why the
 * JVM exits: SIGTERM or Ctrl-C look the same to it as {@code System.exit(-1)}, which Pekko calls
 * after a fatal error (an {@link OutOfMemoryError} on one of its threads, with {@code
 * pekko.jvm-exit-on-fatal-error}, on by default). This class puts a handler in front of the JVM's
 * own for TERM, INT and HUP that notes the signal and then hands it to the handler it replaced (the
 * JVM's, which exits with 128 + the signal's number), or exits that way itself when there was none
 * it could call.
 *
 * <p>It goes through {@code sun.misc.Signal} (module {@code jdk.unsupported}, exported for this
 * purpose) by reflection: a direct use is a javac warning no annotation silences, and the build
 * fails on warnings. Where the JVM refuses a handler ({@code -Xrs}, or a signal the OS already
 * ignores) it is left alone.
 */
final class SignalWatch {
  /** The signals a process supervisor or a terminal stops a process with. */
  static final List<String> STOP_SIGNALS = List.of("TERM", "INT", "HUP");

  private final AtomicReference<String> signal = new AtomicReference<>();
  private final boolean watched;

  private SignalWatch() {
    this.watched = install(STOP_SIGNALS, this::noted);
  }

  /** A watch that installs nothing (tests): {@code watched} says whether it would know. */
  SignalWatch(boolean watched) {
    this.watched = watched;
  }

  /** Notes a stop signal by its name; what the handlers call. */
  void noted(String name) {
    signal.compareAndSet(
        null, name); // the first: a second (Ctrl-C after SIGTERM) exits no other way
  }

  /** Watches {@link #STOP_SIGNALS} from now on (one per process: each puts its own handlers). */
  static SignalWatch start() {
    return new SignalWatch();
  }

  /**
   * Whether a JVM shutdown that ran CoordinatedShutdown from Pekko's JVM hook ({@code reason} is
   * its {@code jvmExitReason}) is a stop signal's, to be ended with exit code 0. Where signals
   * could not be watched, every such shutdown counts as a signal's, as before this class.
   */
  boolean stoppedBySignal(Optional<CoordinatedShutdown.Reason> reason) {
    return reason.isPresent()
        && reason.get() == CoordinatedShutdown.jvmExitReason()
        && (!watched || signal.get() != null);
  }

  /**
   * Whether a JVM shutdown under way, before any actor system of the node ran, is a stop signal's;
   * where signals could not be watched, every shutdown counts as one, as in {@link
   * #stoppedBySignal(Optional)}.
   */
  boolean stoppedBySignal() {
    return !watched || signal.get() != null;
  }

  /** Whether a stop signal was noted (false where signals could not be watched). */
  boolean signalled() {
    return signal.get() != null;
  }

  /** The stop signal's name ({@code TERM}, ...), or {@code a signal} when none was noted. */
  String signalName() {
    String name = signal.get();
    return name == null ? "a signal" : "SIG" + name;
  }

  /**
   * The code the JVM exits with after the noted stop signal: 128 + its number (143 for SIGTERM, 130
   * for Ctrl-C's SIGINT, 129 for SIGHUP), or 143 when none was noted.
   */
  int signalCode() {
    String name = signal.get();
    return 128 + ("INT".equals(name) ? 2 : "HUP".equals(name) ? 1 : 15);
  }

  /**
   * Whether the JVM shuts down from within the process (no stop signal came) after Pekko's JVM hook
   * ran CoordinatedShutdown: {@code System.exit}, which Pekko calls after a fatal error.
   */
  boolean exitFromWithin(Optional<CoordinatedShutdown.Reason> reason) {
    return reason.isPresent()
        && reason.get() == CoordinatedShutdown.jvmExitReason()
        && !stoppedBySignal(reason);
  }

  /** The line said when {@link #exitFromWithin}: {@code who} left, its exit code stands. */
  static String exitFromWithinLine(String who) {
    return who
        + ": the JVM was told to exit from within, not by a signal (Pekko does so after a fatal "
        + "error such as OutOfMemoryError, logged above): the exit code stays the one it was given "
        + "(255 after a fatal error) so that a process supervisor restarts it";
  }

  /**
   * Installs the handlers.
   *
   * @param onSignal called with the signal's name (e.g. {@code TERM}) before the JVM's handler
   * @return whether every one of {@code signals} is now watched; false means a shutdown hook cannot
   *     tell a signal from {@code System.exit}
   */
  private static boolean install(List<String> signals, Consumer<String> onSignal) {
    Class<?> signalClass;
    Class<?> handlerClass;
    Method handle;
    Method getName;
    Method getNumber;
    Method handleSignal;
    Object ignore;
    Object defaults;
    try {
      signalClass = Class.forName("sun.misc.Signal");
      handlerClass = Class.forName("sun.misc.SignalHandler");
      handle = signalClass.getMethod("handle", signalClass, handlerClass);
      getName = signalClass.getMethod("getName");
      getNumber = signalClass.getMethod("getNumber");
      handleSignal = handlerClass.getMethod("handle", signalClass);
      ignore = handlerClass.getField("SIG_IGN").get(null);
      defaults = handlerClass.getField("SIG_DFL").get(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return false; // a JVM without sun.misc.Signal
    }
    boolean all = true;
    for (String name : signals) {
      AtomicReference<Object> replaced = new AtomicReference<>();
      Object handler =
          Proxy.newProxyInstance(
              SignalWatch.class.getClassLoader(),
              new Class<?>[] {handlerClass},
              (proxy, method, args) -> {
                if (!method.equals(handleSignal)) {
                  return proxyObjectMethod(proxy, method, args);
                }
                Object signal = args[0];
                onSignal.accept((String) getName.invoke(signal));
                Object before = replaced.get();
                if (before != null && before != ignore && before != defaults) {
                  handleSignal.invoke(before, signal);
                } else { // what the JVM's own handler does
                  Runtime.getRuntime().exit(128 + (int) getNumber.invoke(signal));
                }
                return null;
              });
      try {
        Object signal = signalClass.getConstructor(String.class).newInstance(name);
        replaced.set(handle.invoke(null, signal, handler));
      } catch (ReflectiveOperationException refused) { // e.g. used by the VM (-Xrs)
        all = false;
      }
    }
    return all;
  }

  /** {@code equals}, {@code hashCode} and {@code toString} of a handler proxy. */
  private static Object proxyObjectMethod(Object proxy, Method method, Object[] args) {
    return switch (method.getName()) {
      case "equals" -> proxy == args[0];
      case "hashCode" -> System.identityHashCode(proxy);
      default -> "SignalWatch handler";
    };
  }
}
