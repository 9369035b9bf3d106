package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Headless Chromium driven by Selenium, for the dashboard's tests: Debian's {@code chromium} and
 * its {@code chromedriver} (packages {@code chromium} and {@code chromium-driver}, installed by
 * {@code .ci/run}), named explicitly so that Selenium never tries to download a driver (the
 * machines have no internet). Each browser gets a fresh profile, deleted at {@link #close}.
 *
 * <p>Missing binaries fail the test with the command that installs them: a skipped browser test
 * would let CI pass without the dashboard ever being loaded. Whoever cannot install them says so
 * explicitly with {@code -Ddashboard.browser=skip}, which JUnit reports as skipped. {@code
 * -Dchromium.binary} and {@code -Dchromedriver.binary} point elsewhere (another distribution,
 * macOS).
 */
final class Browser implements AutoCloseable {

  static final String CHROMIUM = System.getProperty("chromium.binary", "/usr/bin/chromium");
  static final String CHROMEDRIVER =
      System.getProperty("chromedriver.binary", "/usr/bin/chromedriver");

  final ChromeDriver driver;
  private final Path profile;

  private Browser(ChromeDriver driver, Path profile) {
    this.driver = driver;
    this.profile = profile;
  }

  /**
   * Fails, with the command that installs them, when Chromium or its driver is missing; aborts
   * (skipped) only when told to with {@code -Ddashboard.browser=skip}. A test calls it first,
   * before it starts anything else.
   */
  static void require() {
    if ("skip".equals(System.getProperty("dashboard.browser"))) {
      Assumptions.abort(
          "-Ddashboard.browser=skip: the dashboard's browser test is skipped on request");
    }
    java.util.List<String> missing = new java.util.ArrayList<>();
    for (String binary : new String[] {CHROMIUM, CHROMEDRIVER}) {
      if (!Files.isExecutable(Path.of(binary))) {
        missing.add(binary);
      }
    }
    if (!missing.isEmpty()) {
      fail(
          "the dashboard's browser test needs headless Chromium and its driver, and "
              + String.join(" and ", missing)
              + (missing.size() == 1 ? " is" : " are")
              + " missing. Install them with `apt-get install -y chromium "
              + "chromium-driver` (.ci/run does), point -Dchromium.binary and -Dchromedriver.binary at another install, "
              + "or skip this test on purpose with -Ddashboard.browser=skip");
    }
  }

  /** Starts headless Chromium with a window of this size (see {@link #require}). */
  static Browser start(int width, int height) throws IOException {
    require();
    // Selenium warns at length that it has no DevTools (CDP) module for this Chromium version: none
    // is needed here
    Logger.getLogger("org.openqa.selenium").setLevel(Level.SEVERE);
    Path profile = Files.createTempDirectory("dashboard-chromium");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    // the flags the closed network needs: no first-run, sync, component or other background
    // connections
    options.addArguments(
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        "--window-size=" + width + "," + height,
        "--hide-scrollbars");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER))
            .usingAnyFreePort()
            .withTimeout(Duration.ofSeconds(60))
            .build();
    try {
      return new Browser(new ChromeDriver(service, options), profile);
    } catch (WebDriverException e) {
      deleteTree(profile);
      throw new AssertionError(
          "headless Chromium ("
              + CHROMIUM
              + ") did not start through "
              + CHROMEDRIVER
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /**
   * Polls {@code condition} every 200 ms, up to {@code seconds}, until it holds (page exceptions
   * count as false); fails with {@code what} and what the page shows ({@code seen}).
   */
  void await(String what, long seconds, Supplier<Boolean> condition, Supplier<String> seen) {
    try {
      Awaitility.await("the dashboard showing " + what)
          .atMost(Duration.ofSeconds(seconds))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(200))
          // WebDriver is not thread-safe: polled here, so no evaluation runs on beside the test
          .pollInSameThread()
          // the element is not there yet, or was replaced while we read it
          .ignoreExceptionsInstanceOf(WebDriverException.class)
          .until(() -> Boolean.TRUE.equals(condition.get()));
      return;
    } catch (ConditionTimeoutException notShown) {
      // what the page shows instead, below
    }
    String state;
    try {
      state = seen.get();
    } catch (WebDriverException e) {
      state = "(unreadable: " + e.getMessage() + ")";
    }
    fail("the dashboard did not show " + what + " within " + seconds + " s; it shows: " + state);
  }

  /** The visible page as PNG into {@code file} (its folder created). */
  void screenshot(Path file) throws IOException {
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      deleteTree(profile);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException ignored) {
      // a temporary folder left behind
    }
  }
}
