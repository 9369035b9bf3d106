package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dashboard's files as a node serves them (no browser: {@code DashboardIT} drives one): the
 * page, its script and style, and uPlot from its WebJar, each with its content type; {@code /} and
 * {@code /dashboard/} lead to the page; nothing else of the classpath is reachable.
 */
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardRoutesTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(3))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private ProverNode node;
  private String base;

  @BeforeAll
  void start() {
    node =
        TestNodes.node("dashboard", "prover.http.enabled = on")
            .workers(WorkerGroup.allTypes(1, 1))
            .start();
    base = node.httpUrl().orElseThrow();
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return CLIENT.send(
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private void assertServed(String path, String contentType, String contains) throws Exception {
    HttpResponse<String> answer = get(path);
    assertEquals(200, answer.statusCode(), path + ": " + answer.body());
    assertTrue(
        answer.headers().firstValue("Content-Type").orElse("").startsWith(contentType),
        path + ": " + answer.headers().map());
    assertTrue(answer.body().contains(contains), path + " contains " + contains);
  }

  @Test
  void thePageItsFilesAndTheChartLibraryAreServedFromTheJar() throws Exception {
    assertServed("/dashboard", "text/html", "<title>pekko-prover fleet</title>");
    assertServed("/dashboard/app.js", "application/javascript", "fetch('status'");
    assertServed("/dashboard/app.css", "text/css", ".state-ready");
    assertServed("/dashboard/uplot.js", "application/javascript", "uPlot");
    assertServed("/dashboard/uplot.css", "text/css", ".uplot");
    String page = get("/dashboard").body();
    assertTrue(
        !page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"),
        "the page loads nothing from outside the node");
  }

  @Test
  void theRootAndATrailingSlashLeadToThePage() throws Exception {
    HttpResponse<String> root = get("/");
    assertEquals(302, root.statusCode());
    assertEquals(
        URI.create(base + "/dashboard"),
        URI.create(base + "/").resolve(root.headers().firstValue("Location").orElseThrow()));
    HttpResponse<String> slash = get("/dashboard/");
    assertEquals(302, slash.statusCode());
    assertEquals(
        URI.create(base + "/dashboard"),
        URI.create(base + "/dashboard/")
            .resolve(slash.headers().firstValue("Location").orElseThrow()));
  }

  @Test
  void nothingElseOfTheClasspathIsServed() throws Exception {
    for (String path :
        new String[] {
          "/dashboard/index.html",
          "/dashboard/reference.conf",
          "/dashboard/..%2Fcluster.conf",
          "/dashboard/uPlot.iife.min.js",
          "/META-INF/MANIFEST.MF",
          "/webjars/uplot/1.6.30/dist/uPlot.min.css"
        }) {
      assertEquals(404, get(path).statusCode(), path);
    }
  }

  @Test
  void theStartUpLineNamesTheDashboard() {
    assertTrue(
        node.endpointsLine()
            .contains("dashboard " + base + "/dashboard, status " + base + "/status"),
        node.endpointsLine());
  }
}
