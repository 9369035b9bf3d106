package dev.pekkoprover.protocol;

/**
 * Published by a worker on each state change (to the event stream and to its readiness listener).
 * The worker-ready gate listens for {@link WorkerState#READY}.
 */
public record WorkerStateChanged(String workerId, String incarnation, WorkerState state)
    implements CborSerializable {}
