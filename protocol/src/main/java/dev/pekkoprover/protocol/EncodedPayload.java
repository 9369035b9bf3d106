package dev.pekkoprover.protocol;

/**
 * A task input given as JSON text rather than as a typed value, for producers outside the JVM (a
 * CLI, another language). The worker decodes it into the task type's input type; a payload that
 * does not decode fails its task permanently with the decoder's reason, and the worker goes on.
 */
public record EncodedPayload(String json) implements CborSerializable {}
