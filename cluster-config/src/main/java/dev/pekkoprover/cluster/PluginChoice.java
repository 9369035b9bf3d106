package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverPlugin;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Which {@link ProverPlugin} the launcher runs: the one {@code --plugin} names (its class name or
 * its {@link ProverPlugin#name}), else the only one on the class path (the appchain, when the
 * launcher's jar is run alone). Plugins are found with {@link ServiceLoader}; {@code --plugin} may
 * also name a class on the class path that no services file lists. Every refusal is one line that
 * says what is on the class path and what to give instead.
 */
final class PluginChoice {
  private PluginChoice() {}

  /** The plugin chosen, or why none could be. Exactly one of the two is non-null. */
  record Result(ProverPlugin plugin, String refusal) {}

  /**
   * Chooses among the plugins on this class's class loader's class path; see {@link #choose(String,
   * List)}.
   */
  static Result choose(String wanted) {
    List<ProverPlugin> found = new ArrayList<>();
    try {
      ServiceLoader.load(ProverPlugin.class, PluginChoice.class.getClassLoader())
          .forEach(found::add);
    } catch (
        ServiceConfigurationError
            e) { // a services file naming a class that is missing or cannot be made
      return new Result(null, "a plugin on the class path cannot be loaded: " + e.getMessage());
    }
    return choose(wanted, found);
  }

  /**
   * @param wanted {@code --plugin}'s value (null or blank: none given)
   * @param found the plugins the services files list, in class path order
   */
  static Result choose(String wanted, List<ProverPlugin> found) {
    if (wanted == null || wanted.isBlank()) {
      if (found.size() == 1) {
        return new Result(found.get(0), null);
      }
      return new Result(
          null,
          found.isEmpty()
              ? "no plugin on the class path (META-INF/services/"
                  + ProverPlugin.class.getName()
                  + "): add the jar "
                  + "that holds yours to the class path, or give --plugin <class>"
              : "several plugins on the class path, "
                  + describe(found)
                  + ": pick one with --plugin <name or class>");
    }
    String name = wanted.trim();
    for (ProverPlugin plugin : found) {
      if (plugin.getClass().getName().equals(name) || plugin.name().equals(name)) {
        return new Result(plugin, null);
      }
    }
    return load(name, found);
  }

  /** A class the services files do not list: made with its constructor without parameters. */
  private static Result load(String className, List<ProverPlugin> found) {
    String onClassPath =
        found.isEmpty()
            ? "no plugin is on the class path"
            : "on the class path: " + describe(found);
    Class<?> type;
    try {
      type = Class.forName(className, true, PluginChoice.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      return new Result(
          null,
          "--plugin "
              + className
              + ": no such plugin or class ("
              + onClassPath
              + "); add the "
              + "jar that holds it to the class path: java -cp prover-node.jar:<your jar> "
              + NodeLauncher.class.getName()
              + " ...");
    }
    if (!ProverPlugin.class.isAssignableFrom(type)) {
      return new Result(
          null,
          "--plugin "
              + className
              + ": the class does not implement "
              + ProverPlugin.class.getName()
              + " ("
              + onClassPath
              + ")");
    }
    try {
      return new Result((ProverPlugin) type.getConstructor().newInstance(), null);
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      return new Result(
          null,
          "--plugin "
              + className
              + ": cannot make one with its public constructor without "
              + "parameters: "
              + cause);
    }
  }

  private static String describe(List<ProverPlugin> plugins) {
    return plugins.stream()
        .map(p -> p.name() + " (" + p.getClass().getName() + ")")
        .collect(Collectors.joining(", "));
  }
}
