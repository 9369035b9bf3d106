package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.pekkoprover.node.ProverNode;
import dev.pekkoprover.node.WorkerGroup;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A node assembled in code logs its endpoints line at INFO under a logger of the framework's own: a
 * trial's library nodes, whose logging kept Pekko at WARN as library.md shows, never said their
 * URLs, as the line went through the actor system's logger, which is Pekko's.
 */
class EndpointsLineLogTest {

  @Test
  void aLibraryNodeLogsItsUrlsUnderTheFrameworksLogger() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ProverNode.ENDPOINTS_LOGGER);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    logger.addAppender(seen);
    try (ProverNode node =
        TestNodes.node("endpoints", "prover.http.enabled = on")
            .workers(WorkerGroup.allTypes(1, 1))
            .start()) {
      List<String> lines =
          seen.list.stream()
              .filter(event -> event.getLevel() == Level.INFO)
              .map(ILoggingEvent::getFormattedMessage)
              .toList();
      assertEquals(List.of(node.endpointsLine()), lines);
    } finally {
      logger.detachAppender(seen);
    }
  }
}
