package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code cluster.conf} is the file docs/library.md tells a library user to copy into their own
 * resources: every class it names must come with module {@code node}, not with the launcher. A
 * trial's copy named a class of {@code cluster-config} (the downing settings' join check), and
 * every node it started failed with a {@code ClassNotFoundException}.
 */
class ClusterConfClassesTest {
  private static final Pattern CLASS_NAME = Pattern.compile("\"(dev\\.pekkoprover\\.[\\w.]+)\"");

  @Test
  void everyClassTheCopiedClusterConfNamesComesWithModuleNode() throws Exception {
    String text;
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("cluster.conf")) {
      if (in == null) {
        throw new IOException("cluster.conf is not on the class path");
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<String> named = new ArrayList<>();
    Matcher matcher = CLASS_NAME.matcher(text);
    while (matcher.find()) {
      named.add(matcher.group(1));
    }
    assertFalse(named.isEmpty(), "cluster.conf names the TLS engine and the downing check");
    URL launcher = location(NodeExit.class);
    URL node = location(dev.pekkoprover.node.ProverNode.class);
    List<String> notInNode = new ArrayList<>();
    for (String name : named) {
      URL where = location(Class.forName(name));
      if (!where.equals(node) || where.equals(launcher)) {
        notInNode.add(name + " (in " + where + ")");
      }
    }
    assertEquals(List.of(), notInNode, "classes cluster.conf names outside module node");
  }

  private static URL location(Class<?> type) {
    return type.getProtectionDomain().getCodeSource().getLocation();
  }
}
