package dev.pekkoprover.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The best possible makespan of a pairwise reduction tree on {@code capacity} slots when every task
 * takes the same time and hand-offs cost nothing: the yardstick of the scheduling-quality workload.
 *
 * <p>The tree: {@code leaves} leaf tasks, then adjacent results merged pairwise level by level (an
 * odd one out moves up unmerged), so {@code leaves - 1} merges. For unit-time tasks whose
 * dependencies form an in-tree, Hu's highest-level-first list schedule is optimal; {@link
 * #optimalSteps} simulates it. The simple bound {@code max(critical path, tasks / capacity)} is
 * below it as soon as the top of the tree cannot fill the slots: for 64 leaves on 8 slots the bound
 * is 15.9 steps, the optimum 18 (the last three steps hold at most 1 + 2 + 4 tasks, so the other
 * 120 need at least 15 more).
 */
public final class IdealSchedule {
  private IdealSchedule() {}

  /** Steps (task durations) of the optimal schedule. */
  public static int optimalSteps(int leaves, int capacity) {
    if (leaves < 1 || capacity < 1) {
      throw new IllegalArgumentException("need leaves >= 1 and capacity >= 1");
    }
    List<int[]> parentsAndLevels = build(leaves);
    int[] parent = parentsAndLevels.get(0);
    int[] level = parentsAndLevels.get(1);
    int tasks = parent.length;
    int[] waitingChildren = new int[tasks];
    for (int t = 0; t < tasks; t++) {
      if (parent[t] >= 0) {
        waitingChildren[parent[t]]++;
      }
    }
    boolean[] done = new boolean[tasks];
    int finished = 0;
    int steps = 0;
    while (finished < tasks) {
      // the ready tasks with the highest level (longest way to the root) first
      List<Integer> ready = new ArrayList<>();
      for (int t = 0; t < tasks; t++) {
        if (!done[t] && waitingChildren[t] == 0) {
          ready.add(t);
        }
      }
      ready.sort((a, b) -> Integer.compare(level[b], level[a]));
      List<Integer> chosen = ready.subList(0, Math.min(capacity, ready.size()));
      for (int t : chosen) {
        done[t] = true;
        finished++;
      }
      for (int t : chosen) {
        if (parent[t] >= 0) {
          waitingChildren[parent[t]]--;
        }
      }
      steps++;
    }
    return steps;
  }

  /** {@code max(critical path, tasks / capacity)} in steps: a weaker bound, shown for reference. */
  public static double simpleBound(int leaves, int capacity) {
    int[] level = build(leaves).get(1);
    int critical = 0;
    for (int l : level) {
      critical = Math.max(critical, l);
    }
    return Math.max(critical, (double) level.length / capacity);
  }

  /** Tasks in the tree: leaves plus merges. */
  public static int tasks(int leaves) {
    return 2 * leaves - 1;
  }

  /**
   * [parent index or -1, level = tasks from here to the root inclusive] per task; leaves are
   * 0..leaves-1.
   */
  private static List<int[]> build(int leaves) {
    int tasks = tasks(leaves);
    int[] parent = new int[tasks];
    java.util.Arrays.fill(parent, -1);
    List<Integer> current = new ArrayList<>();
    for (int i = 0; i < leaves; i++) {
      current.add(i);
    }
    int next = leaves;
    while (current.size() > 1) {
      List<Integer> up = new ArrayList<>();
      for (int i = 0; i + 1 < current.size(); i += 2) {
        parent[current.get(i)] = next;
        parent[current.get(i + 1)] = next;
        up.add(next++);
      }
      if (current.size() % 2 == 1) {
        up.add(current.get(current.size() - 1));
      }
      current = up;
    }
    int[] level = new int[tasks];
    for (int t = tasks - 1; t >= 0; t--) {
      level[t] = parent[t] < 0 ? 1 : level[parent[t]] + 1;
    }
    return List.of(parent, level);
  }
}
