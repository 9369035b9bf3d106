package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.pekkoprover.node.EndpointGuard.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may read the HTTP endpoints, without a server: the remote-access rule of {@link
 * HttpSettings#check} (loopback by default; a non-loopback address needs HTTPS and a token or
 * client certificates, else one line saying what to configure), and {@link EndpointGuard}'s
 * verdicts on the Authorization header and a client certificate.
 */
class EndpointGuardTest {
  @TempDir Path dir;

  private static HttpSettings settings(String overrides) {
    return HttpSettings.fromConfig(
        ConfigFactory.parseString("prover.http.enabled = on\n" + overrides)
            .withFallback(ConfigFactory.load()));
  }

  @Test
  void loopbackByDefaultAndOpenThere() {
    HttpSettings defaults = HttpSettings.fromConfig(ConfigFactory.load());
    assertEquals("127.0.0.1", defaults.host());
    assertFalse(defaults.remote());
    assertFalse(defaults.https());
    assertTrue(defaults.openHealth(), "orchestrators' probes carry no token");
    assertFalse(defaults.allowInsecureRemote());
    assertFalse(settings("prover.http.host = localhost").remote());
    settings("").check();
    assertFalse(settings("").authenticationRequired());
  }

  @Test
  void aRemoteAddressWithoutTlsAndATokenIsRefusedInOneLineSayingWhatToSet() throws Exception {
    Path token = Files.writeString(dir.resolve("token"), "s3cret\n");
    for (String config :
        new String[] {
          "prover.http.host = \"0.0.0.0\"",
          "prover.http.host = \"0.0.0.0\"\nprover.http.token-file = \""
              + token
              + "\"", // the token would go in clear
          "prover.http.host = \"0.0.0.0\"\nprover.http.https = on\nprover.tls.key-file = k\nprover.tls.cert-file = c"
        }) {
      EndpointsRefusedException refused =
          assertThrows(EndpointsRefusedException.class, () -> settings(config).check());
      String line = refused.getMessage();
      assertEquals(1, line.lines().count(), line);
      for (String named :
          new String[] {
            "0.0.0.0",
            "prover.http.https = on",
            "prover.tls.key-file",
            "prover.http.token-file",
            "--http-token-file",
            "PROVER_HTTP_TOKEN_FILE",
            "prover.tls.ca-cert-file",
            "prover.http.allow-insecure-remote = on"
          }) {
        assertTrue(line.contains(named), "names " + named + ": " + line);
      }
    }
    EndpointsRefusedException noKey =
        assertThrows(
            EndpointsRefusedException.class, () -> settings("prover.http.https = on").check());
    assertTrue(
        noKey.getMessage().contains("prover.tls.key-file and prover.tls.cert-file"),
        noKey.getMessage());

    String https =
        "prover.http.host = \"0.0.0.0\"\nprover.http.https = on\nprover.tls.key-file = k\n"
            + "prover.tls.cert-file = c\n";
    settings(https + "prover.http.token-file = \"" + token + "\"").check();
    settings(https + "prover.tls.ca-cert-file = ca")
        .check(); // client certificates instead of a token
    assertTrue(settings(https + "prover.tls.ca-cert-file = ca").authenticationRequired());
    HttpSettings optedOut =
        settings("prover.http.host = \"0.0.0.0\"\nprover.http.allow-insecure-remote = on");
    optedOut.check();
    assertTrue(optedOut.insecureRemote());
  }

  @Test
  void theTokenFileIsTrimmedAndAnEmptyOneRefused() throws Exception {
    assertEquals(
        "abc", EndpointGuard.readToken(Files.writeString(dir.resolve("t"), "  abc\n"), "x"));
    EndpointsRefusedException empty =
        assertThrows(
            EndpointsRefusedException.class,
            () ->
                EndpointGuard.readToken(
                    Files.writeString(dir.resolve("e"), "\n"), "prover.http.token-file"));
    assertTrue(empty.getMessage().contains("is empty"), empty.getMessage());
    EndpointsRefusedException missing =
        assertThrows(
            EndpointsRefusedException.class,
            () -> EndpointGuard.readToken(dir.resolve("none"), "prover.http.token-file"));
    assertTrue(missing.getMessage().contains("cannot read the token file"), missing.getMessage());
  }

  @Test
  void aTokenIsNeededRightAndAsABearerCredential() {
    EndpointGuard guard = new EndpointGuard(true, Optional.of("s3cret"), false);
    assertEquals(Outcome.MISSING, guard.check(Optional.empty(), false).outcome());
    assertTrue(
        guard.check(Optional.empty(), false).reason().contains("Authorization: Bearer <token>"));
    assertEquals(Outcome.MISSING, guard.check(Optional.of("Basic czNjcmV0"), false).outcome());
    assertEquals(Outcome.MISSING, guard.check(Optional.of("s3cret"), false).outcome());
    assertEquals(Outcome.WRONG, guard.check(Optional.of("Bearer s3cre"), false).outcome());
    assertEquals(Outcome.WRONG, guard.check(Optional.of("Bearer s3cret2"), false).outcome());
    assertEquals(Outcome.ALLOWED, guard.check(Optional.of("Bearer s3cret"), false).outcome());
    assertEquals(Outcome.ALLOWED, guard.check(Optional.of("bearer  s3cret "), false).outcome());
    // a client certificate counts only where the node trusts a CA for them
    assertEquals(Outcome.MISSING, guard.check(Optional.empty(), true).outcome());
    assertEquals(
        Outcome.ALLOWED,
        new EndpointGuard(false, Optional.empty(), false).check(Optional.empty(), false).outcome());
  }

  @Test
  void aVerifiedClientCertificateReplacesTheToken() {
    EndpointGuard both = new EndpointGuard(true, Optional.of("s3cret"), true);
    assertEquals(Outcome.ALLOWED, both.check(Optional.empty(), true).outcome());
    assertEquals(Outcome.WRONG, both.check(Optional.of("Bearer nope"), false).outcome());
    EndpointGuard certificatesOnly = new EndpointGuard(true, Optional.empty(), true);
    assertEquals(Outcome.ALLOWED, certificatesOnly.check(Optional.empty(), true).outcome());
    EndpointGuard.Verdict none = certificatesOnly.check(Optional.of("Bearer guess"), false);
    assertEquals(Outcome.MISSING, none.outcome());
    assertTrue(none.reason().contains("client certificate"), none.reason());
  }
}
