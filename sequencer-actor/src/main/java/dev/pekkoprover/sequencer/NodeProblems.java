package dev.pekkoprover.sequencer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * Problems of parts that run beside the sequencer on its node (the appchain service's journal),
 * which the sequencer adds to its answer for the status API's {@code problems} next to its stores'
 * own: a part registers a supplier under its name, which answers a line while something is wrong
 * and null otherwise. Without it an outage of the appchain service's journal showed only in the log
 * and in 503 answers: {@code /status} said nothing was wrong. Registered and read from any thread.
 */
public final class NodeProblems implements Extension {

  /** The extension's id: {@code NodeProblems.get(system)}. */
  public static final class Id extends ExtensionId<NodeProblems> {
    static final Id INSTANCE = new Id();

    private Id() {}

    @Override
    public NodeProblems createExtension(ActorSystem<?> system) {
      return new NodeProblems();
    }
  }

  public static NodeProblems get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  private final Map<String, Supplier<String>> parts = new ConcurrentSkipListMap<>();

  private NodeProblems() {}

  /** {@code problem} answers {@code part}'s line while it has one, else null; replaces the last. */
  public void register(String part, Supplier<String> problem) {
    parts.put(part, problem);
  }

  /** {@code part} stopped: it reports nothing any more. */
  public void unregister(String part) {
    parts.remove(part);
  }

  /**
   * {@code part} stopped, if {@code problem} is still what it registered (a newer instance of the
   * part may have registered its own).
   */
  public void unregister(String part, Supplier<String> problem) {
    parts.remove(part, problem);
  }

  /** The lines of the parts that have one now, by part name. */
  public List<String> current() {
    List<String> lines = new ArrayList<>();
    for (Supplier<String> problem : parts.values()) {
      String line = problem.get();
      if (line != null) {
        lines.add(line);
      }
    }
    return lines;
  }
}
