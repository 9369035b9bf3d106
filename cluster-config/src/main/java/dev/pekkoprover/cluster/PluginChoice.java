package dev.pekkoprover.cluster;

import dev.pekkoprover.node.ProverPlugin;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.jar.JarFile;
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

  /**
   * The plugin chosen, or why none could be: exactly one of the two is non-null. {@code note}, when
   * not null, is a line to say at start beside a plugin chosen (a jar on the class path that lists
   * no plugin).
   */
  record Result(ProverPlugin plugin, String refusal, String note) {
    Result(ProverPlugin plugin, String refusal) {
      this(plugin, refusal, null);
    }
  }

  /** Where {@link ServiceLoader} finds plugins, in a jar or a class folder. */
  static final String SERVICES_FILE = "META-INF/services/" + ProverPlugin.class.getName();

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
    return choose(wanted, found, unlisted());
  }

  /**
   * The entries of this JVM's class path, other than the one this class came from (the launcher's
   * jar), that have no {@link #SERVICES_FILE}, when it has at most {@link #MAX_ENTRIES}: a user's
   * jar whose plugin {@code --plugin <name>} cannot find (a trial left the file out: the node said
   * to add the jar, which was there, and without {@code --plugin} it ran the appchain without a
   * word).
   */
  static List<String> unlisted() {
    String[] entries = System.getProperty("java.class.path", "").split(File.pathSeparator);
    if (entries.length > MAX_ENTRIES) {
      // not the launcher's jar and a plugin's beside it, but a class path of dependency jars (an
      // IDE, a test run): most list no plugin, and naming them would bury the user's
      return List.of();
    }
    Path own = null;
    try {
      own = Path.of(PluginChoice.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | RuntimeException unknown) {
      // no code source to leave out: every entry is looked at
    }
    List<String> unlisted = new ArrayList<>();
    for (String entry : entries) {
      if (!entry.isBlank()) {
        Path path = Path.of(entry);
        if (!path.toAbsolutePath().normalize().equals(own == null ? null : own.normalize())
            && !listsAPlugin(path)) {
          unlisted.add(entry);
        }
      }
    }
    return unlisted;
  }

  /**
   * A class path of more entries than this is not the launcher's jar with a few of the user's
   * beside it: {@link #unlisted()} says nothing of it.
   */
  static final int MAX_ENTRIES = 6;

  /** Entries {@link #unlisted()} names at most. */
  static final int NAMED = 3;

  /** {@code unlisted}, the first {@link #NAMED} of them and how many more. */
  private static String named(List<String> unlisted) {
    if (unlisted.size() <= NAMED) {
      return String.join(", ", unlisted);
    }
    return String.join(", ", unlisted.subList(0, NAMED))
        + " and "
        + (unlisted.size() - NAMED)
        + " more";
  }

  /**
   * Whether the jar or class folder {@code entry} has a {@link #SERVICES_FILE}; true for what is
   * neither (nothing to say of it).
   */
  static boolean listsAPlugin(Path entry) {
    if (Files.isDirectory(entry)) {
      return Files.exists(entry.resolve(SERVICES_FILE));
    }
    if (!Files.isRegularFile(entry) || !entry.toString().endsWith(".jar")) {
      return true;
    }
    try (JarFile jar = new JarFile(entry.toFile())) {
      return jar.getEntry(SERVICES_FILE) != null;
    } catch (IOException unreadable) {
      return true; // not a jar the JVM can read either: its own error says so
    }
  }

  /** As {@link #choose(String, List, List)} with no class path entry that lists no plugin. */
  static Result choose(String wanted, List<ProverPlugin> found) {
    return choose(wanted, found, List.of());
  }

  /**
   * @param wanted {@code --plugin}'s value (null or blank: none given)
   * @param found the plugins the services files list, in class path order
   * @param unlisted class path entries that list no plugin ({@link #unlisted()})
   */
  static Result choose(String wanted, List<ProverPlugin> found, List<String> unlisted) {
    if (wanted == null || wanted.isBlank()) {
      if (found.size() == 1) {
        return new Result(
            found.get(0),
            null,
            unlisted.isEmpty()
                ? null
                : "plugin "
                    + found.get(0).name()
                    + " runs, the only one on the class path; "
                    + named(unlisted)
                    + " on it list(s) no plugin ("
                    + SERVICES_FILE
                    + "): to run yours, add that file naming its class, or give --plugin <its"
                    + " class>");
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
    return load(name, found, unlisted);
  }

  /** A class the services files do not list: made with its constructor without parameters. */
  private static Result load(String className, List<ProverPlugin> found, List<String> unlisted) {
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
              + "); "
              + (unlisted.isEmpty()
                  ? "add the jar that holds it to the class path: java -cp prover-node.jar:<your"
                      + " jar> "
                      + NodeLauncher.class.getName()
                      + " ..."
                  : named(unlisted)
                      + " on the class path list(s) no plugin: for --plugin <name> to find yours,"
                      + " its jar needs "
                      + SERVICES_FILE
                      + " naming its class; or give --plugin <its class>"));
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
