package dev.pekkoprover.appchain.task;

import dev.pekkoprover.appchain.proof.Circuit;
import dev.pekkoprover.protocol.NamedTaskType;

/**
 * An appchain task type: its inputs, results and proofs are defined by the appchain's circuits, so
 * its {@link #version()} is theirs ({@link Circuit#version()}). A worker built with other circuits
 * is refused by the queue instead of making proofs that do not verify.
 */
abstract class CircuitTaskType<I, R> extends NamedTaskType<I, R> {

  CircuitTaskType(String name, Class<I> inputType, Class<R> resultType) {
    super(name, inputType, resultType);
  }

  @Override
  public final String version() {
    return Circuit.version();
  }
}
