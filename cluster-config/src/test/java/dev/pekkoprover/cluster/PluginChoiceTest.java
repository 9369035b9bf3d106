package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.StartupPlan;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which plugin the launcher runs: the only one found, the one --plugin names (by name or class), or
 * a refusal.
 */
class PluginChoiceTest {

  /** A second plugin beside the appchain, as a user's jar on the class path would add. */
  public static final class OtherPlugin implements ProverPlugin {
    @Override
    public String name() {
      return "other";
    }

    @Override
    public TaskCatalog catalog(Config config) {
      return TaskCatalog.of();
    }

    @Override
    public StartupPlan<?, ?> startupPlan(Config config) {
      return StartupPlan.fixed("none");
    }

    @Override
    public Job job(Config config) {
      return (node, out) -> new Outcome(true, "");
    }
  }

  private final ProverPlugin appchain = new AppchainPlugin();
  private final ProverPlugin other = new OtherPlugin();

  @Test
  void theLaunchersJarAloneRunsTheAppchain() {
    PluginChoice.Result chosen = PluginChoice.choose(null);
    assertNull(chosen.refusal());
    assertEquals(AppchainPlugin.class, chosen.plugin().getClass());
  }

  @Test
  void theOnlyPluginFoundIsTheDefault() {
    assertSame(other, PluginChoice.choose(" ", List.of(other)).plugin());
  }

  @Test
  void severalPluginsNeedPluginToPickOne() {
    PluginChoice.Result chosen = PluginChoice.choose(null, List.of(appchain, other));
    assertNull(chosen.plugin());
    assertEquals(
        "several plugins on the class path, appchain (dev.pekkoprover.cluster.AppchainPlugin), other "
            + "(dev.pekkoprover.cluster.PluginChoiceTest$OtherPlugin): pick one with --plugin <name or class>",
        chosen.refusal());
    assertSame(other, PluginChoice.choose("other", List.of(appchain, other)).plugin());
    assertSame(
        appchain,
        PluginChoice.choose(AppchainPlugin.class.getName(), List.of(appchain, other)).plugin());
  }

  @Test
  void aClassNoServicesFileListsIsMadeByName() {
    PluginChoice.Result chosen =
        PluginChoice.choose(OtherPlugin.class.getName(), List.of(appchain));
    assertNull(chosen.refusal());
    assertEquals(OtherPlugin.class, chosen.plugin().getClass());
  }

  @Test
  void noPluginAtAllSaysWhereOneComesFrom() {
    String refusal = PluginChoice.choose(null, List.of()).refusal();
    assertTrue(
        refusal.startsWith(
            "no plugin on the class path (META-INF/services/dev.pekkoprover.node.ProverPlugin)"),
        refusal);
  }

  /**
   * A user's jar without its services file (a trial's): the appchain, the only plugin found, runs
   * with a line that names the jar and the file; {@code --plugin <name>} is refused naming them.
   */
  @Test
  void aJarThatListsNoPluginIsNamedWithTheServicesFile() {
    PluginChoice.Result chosen =
        PluginChoice.choose(null, List.of(appchain), List.of("myplugin.jar"));
    assertSame(appchain, chosen.plugin());
    assertEquals(
        "plugin appchain runs, the only one on the class path; myplugin.jar on it list(s) no plugin"
            + " (META-INF/services/dev.pekkoprover.node.ProverPlugin): to run yours, add that file"
            + " naming its class, or give --plugin <its class>",
        chosen.note());
    assertNull(PluginChoice.choose(null, List.of(appchain), List.of()).note());
    assertTrue(
        PluginChoice.choose(null, List.of(appchain), List.of("a.jar", "b.jar", "c.jar", "d.jar"))
            .note()
            .contains("; a.jar, b.jar, c.jar and 1 more on it list(s) no plugin"),
        "a class path of dependency jars names a few");

    String refusal =
        PluginChoice.choose("hash-tree", List.of(appchain), List.of("myplugin.jar")).refusal();
    assertEquals(
        "--plugin hash-tree: no such plugin or class (on the class path: appchain"
            + " (dev.pekkoprover.cluster.AppchainPlugin)); myplugin.jar on the class path list(s) no"
            + " plugin: for --plugin <name> to find yours, its jar needs"
            + " META-INF/services/dev.pekkoprover.node.ProverPlugin naming its class; or give"
            + " --plugin <its class>",
        refusal);
    assertTrue(
        PluginChoice.choose("hash-tree", List.of(appchain), List.of())
            .refusal()
            .contains("add the jar that holds it to the class path"));
  }

  @Test
  void aJarOrClassFolderListsAPluginByItsServicesFile(@TempDir Path dir) throws IOException {
    Path without = dir.resolve("without.jar");
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(without))) {
      jar.putNextEntry(new JarEntry("com/example/Task.class"));
      jar.closeEntry();
    }
    Path with = dir.resolve("with.jar");
    try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(with))) {
      jar.putNextEntry(new JarEntry(PluginChoice.SERVICES_FILE));
      jar.write("com.example.MyPlugin\n".getBytes(StandardCharsets.UTF_8));
      jar.closeEntry();
    }
    assertFalse(PluginChoice.listsAPlugin(without));
    assertTrue(PluginChoice.listsAPlugin(with));
    Path classes = Files.createDirectories(dir.resolve("classes"));
    assertFalse(PluginChoice.listsAPlugin(classes));
    Files.createDirectories(classes.resolve(PluginChoice.SERVICES_FILE).getParent());
    Files.writeString(classes.resolve(PluginChoice.SERVICES_FILE), "com.example.MyPlugin\n");
    assertTrue(PluginChoice.listsAPlugin(classes));
    assertTrue(PluginChoice.listsAPlugin(dir.resolve("missing.jar")), "nothing to say of it");
  }
}
