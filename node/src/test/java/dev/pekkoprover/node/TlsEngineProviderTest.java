package dev.pekkoprover.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The refusal line a failed handshake gets names its likely cause (the engine's SSLException says
 * it cryptically).
 */
class TlsEngineProviderTest {

  @Test
  void handshakeErrorsAreNamedByTheirLikelyCause() {
    assertEquals(
        "it does not speak TLS (a node started with --no-tls, or an HTTP client such as 'status --node' given the cluster port instead of the node's --http-port?)",
        TlsEngineProvider.SSLHandshakeFailure.kind(
            "Unrecognized SSL message, plaintext connection?", true));
    assertEquals(
        "the peer does not speak TLS (a node started with --no-tls, or not a cluster port at all: a --seeds address that names a node's --http-port?)",
        TlsEngineProvider.SSLHandshakeFailure.kind(
            "Unrecognized SSL message, plaintext connection?", false));
    assertEquals(
        "its certificate is not from this cluster's CA (ca.crt)",
        TlsEngineProvider.SSLHandshakeFailure.kind(
            "PKIX path validation failed: signature check failed", true));
    assertEquals(
        "it sent no certificate",
        TlsEngineProvider.SSLHandshakeFailure.kind("Empty client certificate chain", true));
  }
}
