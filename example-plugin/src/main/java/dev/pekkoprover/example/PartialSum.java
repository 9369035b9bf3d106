package dev.pekkoprover.example;

import dev.pekkoprover.protocol.CborSerializable;

/**
 * A SquareSumTask's result.
 *
 * @param range the numbers summed
 * @param sum the sum of their squares
 * @param worker the id of the worker that computed it ({@code <host:port>-w<n>} in a cluster)
 */
public record PartialSum(Range range, long sum, String worker) implements CborSerializable {}
