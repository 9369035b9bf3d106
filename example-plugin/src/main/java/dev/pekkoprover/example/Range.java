package dev.pekkoprover.example;

import dev.pekkoprover.protocol.CborSerializable;

/**
 * A SquareSumTask's input: the numbers {@code from..to}, both included ({@code 1 <= from <= to}).
 */
public record Range(long from, long to) implements CborSerializable {}
