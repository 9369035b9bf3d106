package dev.pekkoprover.bench;

import java.util.Arrays;
import java.util.Locale;

/**
 * One machine-readable output line, the shape of the BullMQ baseline's: {@code ours <kind>
 * key=value ...}, values without spaces. A figure measured over several runs is written as its
 * median plus {@code <key>_min} and {@code <key>_max}, so that a reader (or {@link Ratios}) can
 * take the median and still see the spread.
 */
public final class Line {
  private final StringBuilder text;

  private Line(String source, String kind) {
    this.text = new StringBuilder(source).append(' ').append(kind);
  }

  public static Line ours(String kind) {
    return new Line("ours", kind);
  }

  /**
   * An identifying field (c=64, mode=paced, deployment=jvm) or any text value; spaces become
   * underscores.
   */
  public Line tag(String key, Object value) {
    text.append(' ')
        .append(key)
        .append('=')
        .append(String.valueOf(value).trim().replaceAll("\\s+", "_"));
    return this;
  }

  /** A number with this many decimals. */
  public Line value(String key, double value, int decimals) {
    return tag(key, format(value, decimals));
  }

  /** Median of the runs, then their minimum and maximum as {@code key_min} and {@code key_max}. */
  public Line spread(String key, double[] runs, int decimals) {
    value(key, median(runs), decimals);
    value(key + "_min", min(runs), decimals);
    return value(key + "_max", max(runs), decimals);
  }

  @Override
  public String toString() {
    return text.toString();
  }

  static String format(double value, int decimals) {
    if (!Double.isFinite(value)) {
      return "nan";
    }
    return String.format(Locale.ROOT, "%." + decimals + "f", value);
  }

  public static double median(double[] values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  public static double min(double[] values) {
    return Arrays.stream(values).min().orElse(Double.NaN);
  }

  public static double max(double[] values) {
    return Arrays.stream(values).max().orElse(Double.NaN);
  }
}
