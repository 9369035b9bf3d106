package dev.pekkoprover.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP forwarder on a free port (of the loopback, or of an address given) with a network partition
 * at hand: {@link #partition} stops every byte between the clients and the upstream server, as a
 * cut cable or a firewall dropping packets would: nothing is refused or reset, the client's sends
 * are taken and nothing comes back. Connections caught in the partition stay silent for ever (the
 * server's side is closed, as a server drops a session whose peer went quiet); connections opened
 * during it are taken and never answered; after {@link #heal} new connections are forwarded again.
 * For the tests of a database that vanishes from the network, which a stopped database (connections
 * refused and reset) does not show.
 */
final class TcpProxy implements AutoCloseable {
  private final String upstreamHost;
  private final int upstreamPort;
  private final ServerSocket server;
  private final AtomicBoolean partitioned = new AtomicBoolean();
  private final List<Link> links = new CopyOnWriteArrayList<>();

  /** One client's connection and its upstream one; dead once a partition has caught it. */
  private static final class Link {
    final Socket client;
    volatile Socket upstream;
    volatile boolean dead;

    Link(Socket client) {
      this.client = client;
    }

    void kill() {
      dead = true;
      Socket up = upstream;
      if (up != null) {
        try {
          up.close(); // the server's session ends; the client hears nothing of it
        } catch (IOException ignored) {
          // already closed
        }
      }
    }
  }

  TcpProxy(String upstreamHost, int upstreamPort) throws IOException {
    this(InetAddress.getLoopbackAddress(), upstreamHost, upstreamPort);
  }

  /** A forwarder listening on {@code listen} (a free port) instead of the loopback. */
  TcpProxy(InetAddress listen, String upstreamHost, int upstreamPort) throws IOException {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    this.server = new ServerSocket(0, 50, listen);
    Thread acceptor = new Thread(this::accept, "tcp-proxy-accept-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The port clients connect to. */
  int port() {
    return server.getLocalPort();
  }

  /**
   * From now on nothing passes: open connections go silent for ever, new ones are never answered.
   */
  void partition() {
    partitioned.set(true);
    for (Link link : links) {
      link.kill();
    }
  }

  /** New connections are forwarded again; those caught in the partition stay silent. */
  void heal() {
    partitioned.set(false);
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Link link = new Link(client);
      links.add(link);
      if (partitioned.get()) {
        link.dead = true; // taken, never answered
        continue;
      }
      try {
        link.upstream = new Socket(upstreamHost, upstreamPort);
      } catch (IOException e) {
        closeQuietly(client); // the server is down: the client sees that, as without the proxy
        continue;
      }
      if (link.dead) { // a partition began while it connected
        link.kill();
        continue;
      }
      pump(link, link.client, link.upstream, "up");
      pump(link, link.upstream, link.client, "down");
    }
  }

  private void pump(Link link, Socket from, Socket to, String direction) {
    Thread thread =
        new Thread(
            () -> {
              byte[] buffer = new byte[16 * 1024];
              try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                  if (link.dead) {
                    continue; // swallowed: the client's bytes go nowhere
                  }
                  out.write(buffer, 0, n);
                  out.flush();
                }
                if (!link.dead) {
                  to.shutdownOutput(); // an orderly end passes through
                }
              } catch (IOException e) {
                if (!link.dead) {
                  closeQuietly(to);
                }
              }
            },
            "tcp-proxy-" + direction + "-" + port());
    thread.setDaemon(true);
    thread.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Link link : links) {
      link.kill();
      closeQuietly(link.client);
    }
  }
}
