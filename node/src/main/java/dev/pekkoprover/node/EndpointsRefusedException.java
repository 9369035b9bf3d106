package dev.pekkoprover.node;

/**
 * The node will not serve its HTTP endpoints as configured (e.g. a non-loopback address without TLS
 * and a token, a token file that cannot be read). The message is one line that names the settings
 * to change; the launcher prints it alone, without a stack trace, and exits with {@link
 * #EXIT_CODE}.
 */
public final class EndpointsRefusedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  /** The launcher's exit code for a refused configuration (picocli's code for bad usage). */
  public static final int EXIT_CODE = 2;

  EndpointsRefusedException(String message) {
    super(message);
  }

  EndpointsRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
