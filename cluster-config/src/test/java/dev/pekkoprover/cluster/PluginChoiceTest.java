package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import dev.pekkoprover.node.ProverPlugin;
import dev.pekkoprover.protocol.TaskCatalog;
import dev.pekkoprover.sequencer.StartupPlan;
import java.util.List;
import org.junit.jupiter.api.Test;

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
}
