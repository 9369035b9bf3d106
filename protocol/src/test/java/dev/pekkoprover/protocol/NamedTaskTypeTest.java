package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NamedTaskTypeTest {

  private static final class Doubling extends NamedTaskType<Long, Long> {
    Doubling(String name) {
      super(name, Long.class, Long.class);
    }

    @Override
    public Long compute(Long input, TaskContext context) {
      return input * 2;
    }
  }

  @Test
  void theConstructorsArgumentsAreTheTypesNameAndClasses() {
    TaskType<Long, Long> type = new Doubling("double");
    assertEquals("double", type.name());
    assertEquals(Long.class, type.inputType());
    assertEquals(Long.class, type.resultType());
    assertEquals("double", type.toString());
    assertEquals(type, TaskCatalog.of(type).get("double"), "a catalog finds it by that name");
  }

  @Test
  void aBlankNameIsRefusedSayingWhyItMatters() {
    IllegalArgumentException refused =
        assertThrows(IllegalArgumentException.class, () -> new Doubling(" "));
    assertTrue(refused.getMessage().contains("queue"), refused.getMessage());
    assertThrows(NullPointerException.class, () -> new Doubling(null));
  }

  @Test
  void aCatalogRefusesANameWithTheSeparatorOfPartitions() {
    IllegalArgumentException refused =
        assertThrows(IllegalArgumentException.class, () -> TaskCatalog.of(new Doubling("x#1")));
    assertTrue(refused.getMessage().contains("has a '#' in its name"), refused.getMessage());
  }
}
