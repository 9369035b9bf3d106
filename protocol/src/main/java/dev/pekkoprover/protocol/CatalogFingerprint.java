package dev.pekkoprover.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a worker was built and registered with: the contract of every task type it is configured for
 * (its declared version and the shape of its input and result classes, {@link ContractShape}), and
 * a digest of the registration parameters (verification keys) it took. The queue compares it with
 * its own catalog before it hands the worker any work, so that a worker of another build (a
 * mixed-version rollout) or with other circuits is refused rather than failing proofs at random.
 * The rule comes from Scroll's coordinator, which refuses a prover whose version or verifying keys
 * differ.
 *
 * @param versions task type name -> its contract, {@link TaskType#version()} then {@code '#'} and
 *     {@link ContractShape#digestOf} ({@code "1#3f2a9c01"}), sorted by name (registration included)
 * @param digest the first 16 hex digits of the SHA-256 of {@code versions} (for logs and the fleet
 *     view)
 * @param keysDigest the first 16 hex digits of the SHA-256 of the registration parameters ({@link
 *     #keysDigestOf}), or null while the worker is Unprepared
 * @param keysRun the sequencer run whose registration task gave it those parameters, or null while
 *     Unprepared: keys are out of date only when a newer run has other keys (a digest that differs
 *     within one run would be a digest that is not deterministic, and must not make workers
 *     register again and again)
 */
public record CatalogFingerprint(
    TreeMap<String, String> versions, String digest, String keysDigest, String keysRun)
    implements CborSerializable {

  public CatalogFingerprint {
    versions = new TreeMap<>(Objects.requireNonNull(versions, "versions"));
    Objects.requireNonNull(digest, "digest");
  }

  /** The fingerprint of a catalog, before registration (no keys digest). */
  public static CatalogFingerprint of(TaskCatalog catalog) {
    TreeMap<String, String> versions = new TreeMap<>();
    for (TaskType<?, ?> type : catalog.types()) {
      versions.put(type.name(), contractOf(type));
    }
    return new CatalogFingerprint(versions, sha256Hex(versions.toString()), null, null);
  }

  /** The contract of {@code type} as {@link #versions} holds it: {@code "<version>#<shape>"}. */
  public static String contractOf(TaskType<?, ?> type) {
    return type.version() + SHAPE + ContractShape.digestOf(type);
  }

  /** Between a type's version and its shape's digest in {@link #versions}. */
  private static final char SHAPE = '#';

  /**
   * The same catalog, registered by a task of {@code runId} with parameters of digest {@code keys}.
   */
  public CatalogFingerprint registeredWith(String runId, String keys) {
    return new CatalogFingerprint(versions, digest, keys, runId);
  }

  /**
   * The digest of registration parameters as the queue and the worker both compute it: the
   * parameters written as JSON with properties and map keys sorted, so that the same value gives
   * the same digest on every node (a record that crossed a node is read back into the same record).
   * Null for null parameters.
   *
   * @throws IllegalArgumentException when the parameters cannot be written as JSON
   */
  public static String keysDigestOf(Object parameters) {
    if (parameters == null) {
      return null;
    }
    try {
      return sha256Hex(CANONICAL_JSON.writeValueAsString(parameters));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "registration parameters of class "
              + parameters.getClass().getName()
              + " cannot be written as JSON: "
              + e.getOriginalMessage(),
          e);
    }
  }

  /**
   * How this (a worker's) catalog differs from {@code reference} (the queue's), for the types in
   * {@code configured} (those the worker is configured for; all of its types when null): one phrase
   * per difference, such as {@code "StateTransitionTask version 2 (queue has 1)"}, {@code "type 'x'
   * (unknown to the queue)"} or, for input or result classes changed under the same version, {@code
   * "x's input or result classes (shape 1a2b3c4d, the queue's 5e6f7a8b) under the same version 1:
   * ..."}; empty when they match. A type the queue has and the worker does not is no difference: a
   * worker serves a subset.
   */
  public List<String> differencesFrom(
      Map<String, String> reference, Collection<String> configured) {
    List<String> differences = new ArrayList<>();
    Collection<String> names =
        configured == null ? versions.keySet() : new java.util.TreeSet<>(configured);
    for (String name : names) {
      String mine = versions.get(name);
      String theirs = reference.get(name);
      if (theirs == null) {
        differences.add("type '" + name + "' (unknown to the queue)");
      } else if (mine == null) {
        differences.add(
            "type '" + name + "' without a version (the queue has " + versionIn(theirs) + ")");
      } else if (!versionIn(mine).equals(versionIn(theirs))) {
        differences.add(
            name + " version " + versionIn(mine) + " (queue has " + versionIn(theirs) + ")");
      } else if (!mine.equals(theirs) && hasShape(mine) && hasShape(theirs)) {
        // a side of a build before shapes has none: its version alone is compared, so that a
        // rollout across this change refuses nobody for it
        differences.add(
            name
                + "'s input or result classes (shape "
                + shapeIn(mine)
                + ", the queue's "
                + shapeIn(theirs)
                + ") under the same version "
                + versionIn(mine)
                + ": a build changed them without a new version() of the type");
      }
    }
    return differences;
  }

  /** The declared version in a contract ({@link #contractOf}); all of it when it has no shape. */
  private static String versionIn(String contract) {
    int mark = contract.lastIndexOf(SHAPE);
    return mark < 0 ? contract : contract.substring(0, mark);
  }

  /** The shape's digest in a contract ({@link #contractOf}). */
  private static String shapeIn(String contract) {
    return contract.substring(contract.lastIndexOf(SHAPE) + 1);
  }

  /** Whether a contract carries a shape: not one of a build before shapes. */
  private static boolean hasShape(String contract) {
    return contract.lastIndexOf(SHAPE) >= 0;
  }

  private static final ObjectMapper CANONICAL_JSON =
      JsonMapper.builder()
          .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
          .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
          .build();

  private static String sha256Hex(String text) {
    return sha256Hex(text, 8);
  }

  /** The first {@code bytes} bytes of the SHA-256 of {@code text} (UTF-8), in hex. */
  static String sha256Hex(String text, int bytes) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash, 0, bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
