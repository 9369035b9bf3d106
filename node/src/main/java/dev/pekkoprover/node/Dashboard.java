package dev.pekkoprover.node;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The live dashboard every node serves: {@code GET /dashboard}, a page that polls this node's
 * {@code /status} and keeps the charts' last minutes itself (nothing is sampled on the server, so a
 * node nobody watches pays nothing). The page, its script and style are this module's resources
 * under {@code dashboard/}; the chart library, uPlot, comes from its WebJar on the classpath (Maven
 * Central; no CDN, so the page works on a node without internet). Only these files are served, by
 * name: no directory of the classpath is exposed.
 */
final class Dashboard {
  private Dashboard() {}

  static final String PATH = "dashboard";

  /** Where the uPlot WebJar keeps its files, with the version the jar was built with. */
  static final String UPLOT =
      "META-INF/resources/webjars/uplot/" + webJarVersion("org.webjars.npm", "uplot") + "/dist/";

  static Route routes() {
    return Directives.concat(
        Directives.pathSingleSlash(
            () ->
                Directives.redirect(
                    org.apache.pekko.http.javadsl.model.Uri.create(PATH), StatusCodes.FOUND)),
        Directives.pathPrefix(
            PATH,
            () ->
                Directives.concat(
                    Directives.pathEnd(() -> Directives.getFromResource("dashboard/index.html")),
                    // relative links resolve from /dashboard, not from /dashboard/
                    Directives.pathSingleSlash(
                        () ->
                            Directives.redirect(
                                org.apache.pekko.http.javadsl.model.Uri.create("../" + PATH),
                                StatusCodes.FOUND)),
                    Directives.path("app.js", () -> Directives.getFromResource("dashboard/app.js")),
                    Directives.path(
                        "app.css", () -> Directives.getFromResource("dashboard/app.css")),
                    Directives.path(
                        "uplot.js", () -> Directives.getFromResource(UPLOT + "uPlot.iife.min.js")),
                    Directives.path(
                        "uplot.css", () -> Directives.getFromResource(UPLOT + "uPlot.min.css")))));
  }

  /**
   * A WebJar's version from the Maven metadata in its jar; fails at class load when the WebJar is
   * missing.
   */
  static String webJarVersion(String groupId, String artifactId) {
    String properties = "META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
    try (InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(properties)) {
      if (in == null) {
        throw new IllegalStateException(
            "the dashboard's chart library is missing from the classpath: "
                + groupId
                + ":"
                + artifactId
                + " ("
                + properties
                + ")");
      }
      Properties read = new Properties();
      read.load(in);
      return read.getProperty("version");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + properties, e);
    }
  }
}
