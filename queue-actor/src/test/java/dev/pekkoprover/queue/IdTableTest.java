package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The queue's table of tasks by id: the same answers as a map by id through adds, repeats, removals
 * and growth, including removals from a bucket of colliding ids.
 */
class IdTableTest {

  static final class Item extends IdTable.Entry<Item> {
    private final String id;

    Item(String id, int n) {
      this.id = id;
    }

    @Override
    String id() {
      return id;
    }
  }

  private final IdTable<Item> table = new IdTable<>(4);

  @Test
  void addsFindsAndRemovesByIdAndKeepsTheFirstOfARepeatedId() {
    Item a = new Item("flow:1", 1);
    assertNull(table.putIfAbsent(a));
    assertSame(a, table.putIfAbsent(new Item("flow:1", 2)));
    assertEquals(1, table.size());
    assertSame(a, table.get("flow:1"));
    assertTrue(table.contains("flow:1"));
    assertFalse(table.contains("flow:2"));
    assertNull(table.get("flow:2"));
    assertNull(table.remove("flow:2"));
    assertSame(a, table.remove("flow:1"));
    assertEquals(0, table.size());
    assertNull(table.get("flow:1"));
  }

  @Test
  void idsOfTheSameHashStayReachableWhateverIsRemovedBetweenThem() {
    // "Aa" and "BB" have the same String hash, so these ids all share one bucket
    List<String> ids = List.of("AaAa", "AaBB", "BBAa", "BBBB");
    for (String id : ids) {
      table.putIfAbsent(new Item(id, 0));
    }
    table.remove("AaBB");
    assertEquals(List.of(true, false, true, true), ids.stream().map(table::contains).toList());
    table.remove("AaAa");
    assertTrue(table.contains("BBAa"));
    assertTrue(table.contains("BBBB"));
    assertNull(table.putIfAbsent(new Item("AaAa", 1)));
    assertEquals(3, table.size());
  }

  @Test
  void givesTheSameAnswersAsAMapThroughRandomAddsAndRemovals() {
    Map<String, Item> model = new HashMap<>();
    Random random = new Random(42);
    for (int step = 0; step < 200_000; step++) {
      String id = "f" + random.nextInt(3) + ":" + random.nextInt(5_000);
      if (random.nextInt(3) == 0) {
        assertSame(model.remove(id), table.remove(id), id);
      } else {
        Item item = new Item(id, step);
        assertSame(model.putIfAbsent(id, item), table.putIfAbsent(item), id);
      }
      if (step % 997 == 0) {
        assertEquals(model.size(), table.size());
        for (Map.Entry<String, Item> e : model.entrySet()) {
          assertSame(e.getValue(), table.get(e.getKey()));
        }
      }
    }
    assertEquals(model.size(), table.size());
  }

  @Test
  void selectListsEveryMatchOnceAndTheTableMayChangeWhileItIsWorkedThrough() {
    for (int i = 0; i < 1_000; i++) {
      table.putIfAbsent(new Item((i % 2 == 0 ? "even:" : "odd:") + i, i));
    }
    List<Item> even = table.select(item -> item.id().startsWith("even:"));
    assertEquals(500, new HashSet<>(even).size());
    for (Item item : even) {
      assertSame(item, table.remove(item.id()));
    }
    assertEquals(500, table.size());
    List<Item> rest = new ArrayList<>(table.select(item -> true));
    assertTrue(rest.stream().allMatch(item -> item.id().startsWith("odd:")));
  }
}
