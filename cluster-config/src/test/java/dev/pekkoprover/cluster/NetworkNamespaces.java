package dev.pekkoprover.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private network for a test's node processes: each node runs in a network namespace of its own
 * (Linux's, made with iproute2's {@code ip}) with one address of 10.213.0.0/24, and every namespace
 * is linked to one bridge, the network's switch, in a namespace of its own ({@link #split} adds a
 * second); nothing of it touches the host machine's network but the links a test asks for with
 * {@link #outsideLink} (to reach a database there), which go with their namespace. {@link #cut}
 * takes a node's link off the bridge: from then on every packet to or from that node is dropped
 * without a word (no reset, no ICMP: a pulled cable, a dead switch port, a firewall that drops),
 * while both ends still see their link up; {@link #heal} puts it back, and the TCP connections
 * still open carry on where they were.
 *
 * <p>Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN). {@code .ci/run} checks that it can make a
 * namespace with a bridge and then sets {@code PROVER_TEST_NETNS=on}; without it the tests that
 * need one are skipped ({@link #orSkip}).
 */
final class NetworkNamespaces implements AutoCloseable {
  private static final String PREFIX = "pn";
  private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)-\\S+");

  /** A node's namespace, its address and its link's name on the bridge's side. */
  record Host(String namespace, String address, String link) {
    /**
     * The command prefix that runs a program in this namespace ({@code ip netns exec} execs it).
     */
    List<String> exec() {
      return List.of("ip", "netns", "exec", namespace);
    }
  }

  /** Networks made by this JVM: each test's own names, also when one was not closed. */
  private static final java.util.concurrent.atomic.AtomicInteger NETWORKS =
      new java.util.concurrent.atomic.AtomicInteger();

  private final int network = NETWORKS.incrementAndGet();
  private final String name = PREFIX + ProcessHandle.current().pid() + "-" + network;
  private final String switchNamespace = name + "-net";
  private final List<String> namespaces = new ArrayList<>();
  private int hosts;
  private boolean secondBridge;

  /** A new network, or the test skipped when {@code PROVER_TEST_NETNS} is not {@code on}. */
  static NetworkNamespaces orSkip() throws IOException {
    assumeTrue(
        "on".equals(System.getenv("PROVER_TEST_NETNS")),
        "PROVER_TEST_NETNS is not 'on' (.ci/run sets it where it can make network namespaces as"
            + " root): no network to cut");
    return new NetworkNamespaces();
  }

  private NetworkNamespaces() throws IOException {
    removeLeftovers();
    try {
      namespace(switchNamespace);
      ip("-n", switchNamespace, "link", "add", "br0", "type", "bridge");
      ip("-n", switchNamespace, "link", "set", "br0", "up");
    } catch (IOException | RuntimeException | AssertionError failed) {
      close(); // what was made of it: no test after this one finds it in its way
      throw failed;
    }
  }

  /** A new node namespace linked to the bridge, its loopback and link up. */
  synchronized Host host() throws IOException {
    int n = ++hosts;
    assertTrue(n < 250, "at most 249 hosts");
    String namespace = name + "-" + n;
    String link = "v" + n;
    String address = "10.213.0." + n;
    namespace(namespace);
    ip(
        "-n",
        switchNamespace,
        "link",
        "add",
        link,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        namespace);
    ip("-n", switchNamespace, "link", "set", link, "master", "br0", "up");
    ip("-n", namespace, "addr", "add", address + "/24", "dev", "eth0");
    ip("-n", namespace, "link", "set", "eth0", "up");
    ip("-n", namespace, "link", "set", "lo", "up");
    return new Host(namespace, address, link);
  }

  /**
   * A link of the host's own to the test's (the host machine's) network namespace, beside its link
   * to the bridge, so that what {@link #cut} and {@link #split} do to the bridge leaves it alone: a
   * database reached through it stays reachable from both sides of a partition. The host's end has
   * 10.x.n.2/30, the test's end 10.x.n.1/30 (n: the host's number, x from 214 to 253 by this JVM's
   * pid and this network), the address this returns, where the test listens for the host (a {@link
   * TcpProxy} to a database on the host machine's loopback). The link is deleted with the host's
   * namespace.
   */
  synchronized String outsideLink(Host host) throws IOException {
    String n = host.address().substring(host.address().lastIndexOf('.') + 1);
    // the test's end lives in the host machine's namespace: a name unique there, at most 15 chars
    long pid = ProcessHandle.current().pid();
    String outer = "pd" + Long.toString(pid, 36) + "x" + network + "x" + n;
    // a /30 of its own in the host machine's namespace, apart from other networks of this JVM and
    // (very likely) of other test JVMs; one already there fails here rather than misroute
    String subnet = "10." + (214 + (pid * 7 + network) % 40) + "." + n + ".";
    String present = ip("-4", "addr", "show", "to", subnet + "0/30");
    assertTrue(present.isBlank(), subnet + "0/30 is in use on this machine already:\n" + present);
    ip("link", "add", outer, "type", "veth", "peer", "name", "out0", "netns", host.namespace());
    String inside = subnet + "1";
    ip("addr", "add", inside + "/30", "dev", outer);
    ip("link", "set", outer, "up");
    ip("-n", host.namespace(), "addr", "add", subnet + "2/30", "dev", "out0");
    ip("-n", host.namespace(), "link", "set", "out0", "up");
    return inside;
  }

  /**
   * Moves the hosts' links from the bridge to a second one: from now on they reach each other and
   * no other host (a partition with two sides); {@link #heal} puts each back. One split at a time:
   * a second call adds its hosts to the same side.
   */
  synchronized void split(Host... side) throws IOException {
    if (!secondBridge) {
      ip("-n", switchNamespace, "link", "add", "br1", "type", "bridge");
      ip("-n", switchNamespace, "link", "set", "br1", "up");
      secondBridge = true;
    }
    for (Host host : side) {
      ip("-n", switchNamespace, "link", "set", host.link(), "master", "br1");
    }
  }

  /** Takes the host's link off the bridge: its packets are dropped both ways from now on. */
  void cut(Host host) throws IOException {
    ip("-n", switchNamespace, "link", "set", host.link(), "nomaster");
  }

  /** Puts the host's link back on the (first) bridge, after a {@link #cut} or a {@link #split}. */
  void heal(Host host) throws IOException {
    ip("-n", switchNamespace, "link", "set", host.link(), "master", "br0");
  }

  /**
   * Deletes every namespace made (the links and the bridge go with them). Call it after the
   * processes in them have ended.
   */
  @Override
  public synchronized void close() throws IOException {
    List<String> made = new ArrayList<>(namespaces);
    Collections.reverse(made);
    namespaces.clear();
    IOException first = null;
    for (String namespace : made) {
      try {
        ip("netns", "del", namespace);
      } catch (IOException | AssertionError failed) { // the others still go
        if (first == null) {
          first = new IOException("could not delete network namespace " + namespace, failed);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private void namespace(String namespace) throws IOException {
    ip("netns", "add", namespace);
    namespaces.add(namespace);
  }

  /**
   * Namespaces of this helper whose test JVM is gone (killed before its {@link #close}), with the
   * node processes still running in them (killed: their test is over).
   */
  private static void removeLeftovers() throws IOException {
    for (String line : ip("netns", "list").split("\n")) {
      Matcher ours = OURS.matcher(line.trim());
      if (ours.lookingAt()
          && ProcessHandle.of(Long.parseLong(ours.group(1))).map(p -> !p.isAlive()).orElse(true)) {
        String namespace = line.trim().split("\\s+")[0];
        for (String pid : ip("netns", "pids", namespace).split("\\s+")) {
          if (!pid.isBlank()) {
            ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
          }
        }
        ip("netns", "del", namespace);
      }
    }
  }

  /**
   * Runs {@code ip args...} (up to 10 s); its output, or a failed assertion with it; interrupted,
   * an IOException with the flag kept.
   */
  private static String ip(String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add("ip");
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      assertTrue(process.waitFor(10, TimeUnit.SECONDS), String.join(" ", command) + " ended");
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, process.exitValue(), String.join(" ", command) + ": " + output);
      return output;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while " + String.join(" ", command) + " ran", e);
    } finally {
      if (process.isAlive()) {
        process.destroyForcibly();
      }
    }
  }
}
