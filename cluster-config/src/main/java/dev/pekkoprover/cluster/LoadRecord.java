package dev.pekkoprover.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pekkoprover.appchain.tx.SignedTransfer;
import dev.pekkoprover.appchain.tx.Transfer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The record of a {@link LoadRun}: the file {@code --record} names, to which every accepted
 * transfer is appended as one JSON line ({@code hash}, {@code from}, {@code to}, {@code amount},
 * {@code nonce}, {@code signature}, {@code submittedAtMillis}: epoch milliseconds), flushed line by
 * line.
 *
 * <p>What a reader must not miss: the file is appended to, never truncated; with no file given (or
 * before {@link #open}) appending does nothing.
 */
final class LoadRecord {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private BufferedWriter writer;

  /**
   * @param file the record file, or null for none
   */
  LoadRecord(Path file) {
    this.file = file;
  }

  /**
   * The transfers of a record file, in file order: what a test or an operator feeds a fresh chain
   * to recompute the service's state.
   *
   * @throws IOException when the file cannot be read
   * @throws IllegalArgumentException when a line is not a recorded transfer, or its hash is not its
   *     transfer's
   */
  static List<SignedTransfer> read(Path file) throws IOException {
    List<SignedTransfer> transfers = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode tx = JSON.readTree(line);
      if (tx == null || !tx.hasNonNull("signature") || !tx.hasNonNull("hash")) {
        throw new IllegalArgumentException("not a recorded transfer in " + file + ": " + line);
      }
      SignedTransfer signed =
          new SignedTransfer(
              new Transfer(
                  tx.path("from").asText(),
                  tx.path("to").asText(),
                  tx.path("amount").asLong(),
                  tx.path("nonce").asLong()),
              tx.get("signature").asText());
      if (!signed.hash().equals(tx.get("hash").asText())) {
        throw new IllegalArgumentException(
            "recorded transfer "
                + tx.get("hash").asText()
                + " in "
                + file
                + " hashes to "
                + signed.hash());
      }
      transfers.add(signed);
    }
    return transfers;
  }

  /** Opens the file for appending; false (with a line on err) when it cannot be written. */
  boolean open(PrintStream err) {
    if (file == null) {
      return true;
    }
    try {
      writer =
          Files.newBufferedWriter(
              file,
              StandardCharsets.UTF_8,
              StandardOpenOption.CREATE,
              StandardOpenOption.APPEND,
              StandardOpenOption.WRITE);
      return true;
    } catch (IOException e) {
      err.println("load: cannot write the record " + file + ": " + e);
      return false;
    }
  }

  /**
   * Appends one accepted transfer.
   *
   * @throws UncheckedIOException when the file cannot be written
   */
  synchronized void append(LoadPacer.Sent sent) {
    if (writer == null) {
      return;
    }
    ObjectNode line = JSON.createObjectNode();
    line.put("hash", sent.tx.hash());
    line.put("from", sent.tx.transfer().from());
    line.put("to", sent.tx.transfer().to());
    line.put("amount", sent.tx.transfer().amount());
    line.put("nonce", sent.tx.transfer().nonce());
    line.put("signature", sent.tx.signature());
    line.put("submittedAtMillis", sent.submittedAtMillis);
    try {
      writer.write(line.toString());
      writer.newLine();
      writer.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to the record " + file, e);
    }
  }

  /** Closes the file if it was opened; a failure is a line on err. */
  void close(PrintStream err) {
    if (writer == null) {
      return;
    }
    try {
      writer.close();
    } catch (IOException e) {
      err.println("load: cannot close the record " + file + ": " + e.getMessage());
    }
  }
}
