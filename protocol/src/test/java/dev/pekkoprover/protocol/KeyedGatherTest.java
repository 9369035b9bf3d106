package dev.pekkoprover.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.pekkoprover.testing.TestConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@link KeyedGather}: the merge of what came, at once when every key answered; a key that does not
 * answer in time stood in for by its last answer, within the age bound; a key that missed the last
 * reply waited for only briefly, until it answers again; the log of a run of partial replies.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KeyedGatherTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  private static final Duration AFTER_MISS = Duration.ofMillis(200);
  private static final List<String> KEYS = List.of("a", "b", "c");

  private final ActorTestKit testKit = ActorTestKit.create("keyed-gather", TestConfig.config());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /** A reply, and how long after the gathering's start it came. */
  private record Reply(String text, long millis) {}

  /**
   * One gathering of {@link #KEYS}: a key in {@code answers} answers its value after its delay
   * (ms), the others never (their question fails at {@code TIMEOUT}, as an ask does). The merge is
   * {@code "fresh={...} carried={...}"}, carried values with their key.
   */
  private Reply gather(
      KeyedGather.LastAnswers<String> last,
      Map<String, String> answers,
      Map<String, Long> delays,
      Duration carryOverAtMost,
      PartialAnswers log) {
    TestProbe<String> replies = testKit.createTestProbe();
    long start = System.nanoTime();
    testKit.spawn(
        KeyedGather.create(
            KEYS,
            key -> answer(answers.get(key), delays.getOrDefault(key, 0L)),
            TIMEOUT,
            AFTER_MISS,
            carryOverAtMost,
            last,
            outcome -> {
              Map<String, String> carried = new TreeMap<>();
              outcome.carried().forEach((k, c) -> carried.put(k, c.answer()));
              return "fresh=" + new TreeMap<>(outcome.fresh()) + " carried=" + carried;
            },
            replies.ref(),
            log));
    String text = replies.receiveMessage(TIMEOUT.plusSeconds(5));
    return new Reply(text, (System.nanoTime() - start) / 1_000_000);
  }

  private static CompletionStage<String> answer(String value, long delayMillis) {
    if (value == null) {
      return new CompletableFuture<String>().orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }
    return CompletableFuture.supplyAsync(
        () -> value, CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS));
  }

  private Reply gather(KeyedGather.LastAnswers<String> last, Map<String, String> answers) {
    return gather(last, answers, Map.of(), Duration.ofSeconds(60), null);
  }

  @Test
  void aKeyThatDoesNotAnswerIsStoodInForByItsLastAnswerAndWaitedForBrieflyUntilItAnswersAgain() {
    KeyedGather.LastAnswers<String> last = new KeyedGather.LastAnswers<>();
    Reply all = gather(last, Map.of("a", "a1", "b", "b1", "c", "c1"));
    assertEquals("fresh={a=a1, b=b1, c=c1} carried={}", all.text());
    assertTrue(all.millis() < TIMEOUT.toMillis(), "every key answered: at once, " + all);

    // b falls silent: the reply waits the whole timeout for it (it answered last time), then b's
    // last answer stands in for its own
    Reply first = gather(last, Map.of("a", "a2", "c", "c2"));
    assertEquals("fresh={a=a2, c=c2} carried={b=b1}", first.text());
    assertTrue(first.millis() >= TIMEOUT.toMillis() - 50, "waited the timeout for b: " + first);
    assertTrue(last.missedLast("b"));

    // b missed the last reply: it is waited for only AFTER_MISS once a and c answered
    Reply second = gather(last, Map.of("a", "a3", "c", "c3"));
    assertEquals("fresh={a=a3, c=c3} carried={b=b1}", second.text());
    assertTrue(
        second.millis() < TIMEOUT.toMillis() / 2,
        "a key that missed the last reply held this one " + second.millis() + " ms");

    // b answers again, after the brief wait: the reply has gone without it, but its answer counts
    // for the next gathering and clears its mark
    Reply late =
        gather(
            last,
            Map.of("a", "a4", "b", "b4", "c", "c4"),
            Map.of("b", 2000L),
            Duration.ofSeconds(60),
            null);
    assertEquals("fresh={a=a4, c=c4} carried={b=b1}", late.text());
    testKit
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            () -> {
              assertTrue(!last.missedLast("b"), "b's late answer cleared its mark");
              return null;
            });

    // so b is waited for the whole timeout again: a slow answer in time is fresh
    Reply waited =
        gather(
            last,
            Map.of("a", "a5", "b", "b5", "c", "c5"),
            Map.of("b", 600L),
            Duration.ofSeconds(60),
            null);
    assertEquals("fresh={a=a5, b=b5, c=c5} carried={}", waited.text());

    // and a silent b is stood in for by its newest answer, the late one
    Reply newest = gather(last, Map.of("a", "a6", "c", "c6"));
    assertEquals("fresh={a=a6, c=c6} carried={b=b5}", newest.text());
  }

  @Test
  void aMissedKeyWaitsOnlyOnceEveryOtherKeyAnswered() {
    KeyedGather.LastAnswers<String> last = new KeyedGather.LastAnswers<>();
    gather(last, Map.of("a", "a1", "b", "b1", "c", "c1"));
    gather(last, Map.of("a", "a2", "c", "c2")); // b misses
    // c is slower than the brief wait: the reply waits for c, not for b, and its line says how
    // long it waited (it said the brief wait's 0.2 s)
    PartialAnswers log = new PartialAnswers("stats (test entities)");
    java.util.regex.Pattern waitedForC =
        java.util.regex.Pattern.compile("2 of 3 answered in (0\\.[89]|[1-9](\\.\\d)?) s;");
    Reply[] replies = new Reply[1];
    LoggingTestKit.custom(event -> waitedForC.matcher(event.message()).find())
        .expect(
            testKit.system(),
            () ->
                replies[0] =
                    gather(
                        last,
                        Map.of("a", "a3", "c", "c3"),
                        Map.of("c", 800L),
                        Duration.ofSeconds(60),
                        log));
    Reply reply = replies[0];
    assertEquals("fresh={a=a3, c=c3} carried={b=b1}", reply.text());
    assertTrue(reply.millis() >= 750, "waited for c: " + reply);
  }

  @Test
  void aLastAnswerOlderThanTheBoundIsLeftOut() {
    KeyedGather.LastAnswers<String> last = new KeyedGather.LastAnswers<>();
    gather(last, Map.of("a", "a1", "b", "b1", "c", "c1"));
    Reply reply =
        gather(last, Map.of("a", "a2", "c", "c2"), Map.of(), Duration.ofMillis(500), null);
    assertEquals("fresh={a=a2, c=c2} carried={}", reply.text(), "b1 is 3 s old, the bound 0.5 s");
  }

  @Test
  void aRunOfPartialRepliesIsOneWarnLineSayingWhatStandsInAndItsEndOneInfoLine() {
    KeyedGather.LastAnswers<String> last = new KeyedGather.LastAnswers<>();
    PartialAnswers log = new PartialAnswers("stats (test entities)");
    Map<String, String> all = Map.of("a", "a1", "b", "b1", "c", "c1");
    Duration bound = Duration.ofSeconds(60);
    LoggingTestKit.warn("answered")
        .withOccurrences(0)
        .expect(testKit.system(), () -> gather(last, all, Map.of(), bound, log));
    LoggingTestKit.warn(
            "stats (test entities): 2 of 3 answered in 3 s; the last answers of the other 1"
                + " stand in for theirs (at most 60 s old); further partial answers are logged at"
                + " DEBUG")
        .expect(
            testKit.system(), () -> gather(last, Map.of("a", "a", "c", "c"), Map.of(), bound, log));
    LoggingTestKit.warn("stats (test entities)")
        .withOccurrences(0)
        .expect(
            testKit.system(), () -> gather(last, Map.of("a", "a", "c", "c"), Map.of(), bound, log));
    assertEquals(2, log.partialSinceComplete());
    LoggingTestKit.info("stats (test entities): all 3 answer again, after 2 partial answer(s)")
        .expect(testKit.system(), () -> gather(last, all, Map.of(), bound, log));
    assertEquals(0, log.partialSinceComplete());
  }

  @Test
  void partialRepliesWithAKnownReasonAreOneInfoLineNamingItAndNoWarn() {
    java.util.concurrent.atomic.AtomicReference<String> reason =
        new java.util.concurrent.atomic.AtomicReference<>("a queue node is unreachable");
    PartialAnswers log =
        new PartialAnswers(
            "fleet (test entities)", reason::get, "where to look, said with no reason");
    KeyedGather.LastAnswers<String> last = new KeyedGather.LastAnswers<>();
    Duration bound = Duration.ofSeconds(60);
    LoggingTestKit.warn("fleet (test entities)")
        .withOccurrences(0)
        .expect(
            testKit.system(),
            () ->
                LoggingTestKit.info(
                        "fleet (test entities): 1 of 3 answered in 3 s, as expected while a queue"
                            + " node is unreachable; further partial answers")
                    .expect(
                        testKit.system(),
                        () -> gather(last, Map.of("a", "a"), Map.of(), bound, log)));
    gather(last, Map.of("a", "a", "b", "b", "c", "c"), Map.of(), bound, log);
    reason.set(null); // no reason known at the next run's start: the WARN, saying where to look
    LoggingTestKit.warn(
            "fleet (test entities): 2 of 3 answered in 3 s (where to look, said with no reason); the"
                + " last answers of the other 1")
        .expect(
            testKit.system(), () -> gather(last, Map.of("a", "a", "b", "b"), Map.of(), bound, log));
  }

  @Test
  void aKeyListedTwiceIsAskedOnceAndAnAskThatThrowsCountsAsNoAnswer() {
    TestProbe<String> replies = testKit.createTestProbe();
    java.util.concurrent.atomic.AtomicInteger asks =
        new java.util.concurrent.atomic.AtomicInteger();
    long start = System.nanoTime();
    testKit.spawn(
        KeyedGather.create(
            List.of("a", "a", "b"),
            key -> {
              asks.incrementAndGet();
              if (key.equals("b")) {
                throw new IllegalStateException("the system shuts down");
              }
              return CompletableFuture.completedFuture(key + "1");
            },
            TIMEOUT,
            AFTER_MISS,
            Duration.ofSeconds(60),
            new KeyedGather.LastAnswers<String>(),
            outcome -> "fresh=" + new TreeMap<>(outcome.fresh()) + " asked=" + outcome.asked(),
            replies.ref(),
            null));
    assertEquals("fresh={a=a1} asked=2", replies.receiveMessage(TIMEOUT.plusSeconds(5)));
    assertTrue(
        (System.nanoTime() - start) / 1_000_000 < TIMEOUT.toMillis(),
        "every key resolved at once: no wait for the timeout");
    assertEquals(2, asks.get(), "a asked once, b once");
  }
}
