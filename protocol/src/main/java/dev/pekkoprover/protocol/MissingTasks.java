package dev.pekkoprover.protocol;

import java.util.List;

/**
 * The queue's answer to {@link QueueCommand.CheckHeld}: the asked-about tasks it does not hold. A
 * task is missing when the Enqueue never arrived, the queue entity that held it started again empty
 * (its node went away), or the task is already done and its outcome is on its way (or was lost).
 */
public record MissingTasks(String taskType, List<String> taskIds) implements CborSerializable {}
