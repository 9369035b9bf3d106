package dev.pekkoprover.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A list threaded through its elements: order kept, any element removed in O(1), two lists through
 * one element.
 */
class IntrusiveListTest {

  static final class Item extends IntrusiveList.Element<Item> {
    final String name;

    Item(String name) {
      this.name = name;
    }
  }

  private static List<String> names(IntrusiveList<Item> list) {
    List<String> names = new ArrayList<>();
    for (Item item = list.first(); item != null; item = list.next(item)) {
      names.add(item.name);
    }
    return names;
  }

  private final IntrusiveList<Item> list = new IntrusiveList<>(IntrusiveList.Links.FIRST);
  private final Item a = new Item("a");
  private final Item b = new Item("b");
  private final Item c = new Item("c");

  @Test
  void elementsStayInTheOrderTheyWereAdded() {
    assertTrue(list.isEmpty());
    assertNull(list.first());
    assertNull(list.last());
    list.addLast(a);
    list.addLast(b);
    list.addLast(c);
    assertEquals(List.of("a", "b", "c"), names(list));
    assertEquals("a", list.first().name);
    assertEquals("c", list.last().name);
  }

  @Test
  void theHeadTheMiddleAndTheTailCanEachBeRemoved() {
    list.addLast(a);
    list.addLast(b);
    list.addLast(c);
    list.remove(b);
    assertEquals(List.of("a", "c"), names(list));
    list.remove(c);
    assertEquals(List.of("a"), names(list));
    assertEquals("a", list.last().name);
    list.remove(a);
    assertTrue(list.isEmpty());
    assertNull(list.last());

    // removed elements are clean: they can join again, in any order
    list.addLast(c);
    list.addLast(a);
    assertEquals(List.of("c", "a"), names(list));
  }

  @Test
  void emptyingFromTheTailVisitsNewestFirst() {
    list.addLast(a);
    list.addLast(b);
    list.addLast(c);
    List<String> taken = new ArrayList<>();
    for (Item item; (item = list.last()) != null; ) {
      list.remove(item);
      taken.add(item.name);
    }
    assertEquals(List.of("c", "b", "a"), taken);
    assertTrue(list.isEmpty());
  }

  @Test
  void anElementIsInOneListPerPairOfLinksAndTheTwoDoNotDisturbEachOther() {
    IntrusiveList<Item> byType = list;
    IntrusiveList<Item> firstWorker = new IntrusiveList<>(IntrusiveList.Links.SECOND);
    IntrusiveList<Item> secondWorker = new IntrusiveList<>(IntrusiveList.Links.SECOND);
    byType.addLast(a);
    byType.addLast(b);
    byType.addLast(c);
    firstWorker.addLast(c);
    firstWorker.addLast(a);
    secondWorker.addLast(b);

    firstWorker.remove(c);
    assertEquals(List.of("a", "b", "c"), names(byType));
    assertEquals(List.of("a"), names(firstWorker));
    byType.remove(a);
    assertEquals(List.of("b", "c"), names(byType));
    assertEquals(List.of("a"), names(firstWorker));
    assertEquals(List.of("b"), names(secondWorker));
  }
}
