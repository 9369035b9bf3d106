package dev.pekkoprover.appchain.tx;

import dev.pekkoprover.protocol.CborSerializable;

/** A transfer and the sender's Ed25519 signature over {@link Transfer#signingBytes()}, in hex. */
public record SignedTransfer(Transfer transfer, String signature) implements CborSerializable {

  public String hash() {
    return transfer.hash();
  }

  /** True when the signature is the sender's over this transfer. */
  public boolean signatureValid() {
    return Signatures.verify(transfer.from(), transfer.signingBytes(), signature);
  }
}
