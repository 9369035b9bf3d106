package dev.pekkoprover.testing;

import java.lang.reflect.Method;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;

/**
 * Pekko's {@link LogCapturingExtension} for test templates too: a test's log lines are printed only
 * when it fails. Pekko's extension captures a plain {@code @Test} only; a template's invocation
 * ({@code @ParameterizedTest}, {@code @RepeatedTest}) it passes on untouched (Pekko 1.7), so a
 * failed case printed none of its lines, and they stayed in the capture buffer until some later
 * plain test failed and printed them as its own. Use it in place of Pekko's on a class with
 * templates ({@code @ExtendWith(LogCapture.class)}).
 */
public final class LogCapture implements InvocationInterceptor {
  private final LogCapturingExtension pekko = new LogCapturingExtension();

  @Override
  public void interceptTestMethod(
      Invocation<Void> invocation,
      ReflectiveInvocationContext<Method> invocationContext,
      ExtensionContext extensionContext)
      throws Throwable {
    pekko.interceptTestMethod(invocation, invocationContext, extensionContext);
  }

  @Override
  public void interceptTestTemplateMethod(
      Invocation<Void> invocation,
      ReflectiveInvocationContext<Method> invocationContext,
      ExtensionContext extensionContext)
      throws Throwable {
    pekko.interceptTestMethod(invocation, invocationContext, extensionContext);
  }
}
