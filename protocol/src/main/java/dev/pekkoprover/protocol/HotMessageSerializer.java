package dev.pekkoprover.protocol;

import java.io.NotSerializableException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.ByteBufferSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.SerializerWithStringManifest;

/**
 * A hand-written binary serializer for the messages every task crosses the network in: {@link
 * WorkerCommand.Dispatch}, {@link WorkerCommand.DispatchAll}, {@link QueueCommand.Enqueue}, {@link
 * QueueCommand.Reports} (and its three reports alone), and the three {@link TaskOutcome}s. Every
 * other message stays Jackson CBOR. Bound in the protocol's {@code reference.conf} under the name
 * {@code prover-hot} with the fixed id {@value #ID} (Pekko keeps ids 0 to 40 for its own).
 *
 * <p>Format: fields in declaration order; ints, longs and lengths as unsigned varints (attempts,
 * counts and a task's flow order are small), strings as a varint length + 1 (0 for null) and UTF-8,
 * booleans as one byte, actor refs as their {@link ActorRefResolver} string. The fields that repeat
 * from one task or report of a message to the next (flow, run and type of a task; worker,
 * incarnation, run and type of a report) are written once and then as one byte {@code 1} ("the same
 * again"), otherwise as a string with its length + 2 (0 for null): a batch of one worker's reports
 * names that worker once. A payload (a task's input or result) is one tag byte and then:
 *
 * <ul>
 *   <li>{@code 0}: null, nothing follows;
 *   <li>{@code 1}: a {@link SerializedPayload}, written as it is (serializer id, manifest, bytes)
 *       and read back as one, still undecoded: the worker and the flow decode it where the value is
 *       used, every hop in between only copies its bytes;
 *   <li>{@code 2}: a live value, serialised here with the node's serializers (as {@link AnyValue}
 *       would with Jackson) and decoded again on arrival, so that the receiver sees the value as
 *       Jackson gave it before (a registration offer and its result, which the queue and the
 *       registration flow read, travel so; task values that crossed a size check travel as 1);
 *   <li>{@code 3} to {@code 8}: a String, Long, Integer, Boolean, Double or BigInteger, written
 *       directly and read back as the value.
 * </ul>
 *
 * A live value whose class may not travel ({@link AnyValue#isAllowed}) is refused when it is
 * written, with the same reason as Jackson's {@link AnyValue.Serializer}. Versions of this format
 * are not compatible with each other: every node of a cluster runs the same build.
 */
public final class HotMessageSerializer extends SerializerWithStringManifest
    implements ByteBufferSerializer {

  /** The serializer id, in Pekko's user range (above 40); fixed, since nodes must agree on it. */
  public static final int ID = 7_141_400;

  static final String DISPATCH = "D";
  static final String DISPATCH_ALL = "DA";
  static final String ENQUEUE = "E";
  static final String REPORTS = "R";
  static final String SUCCEEDED = "RS";
  static final String FAILED = "RF";
  static final String DECLINED = "RD";
  static final String OUTCOME_SUCCEEDED = "OS";
  static final String OUTCOME_FAILED = "OF";
  static final String OUTCOME_REJECTED = "OR";

  private static final int NULL = 0;
  private static final int SERIALIZED = 1;
  private static final int LIVE = 2;
  private static final int STRING = 3;
  private static final int LONG = 4;
  private static final int INTEGER = 5;
  private static final int BOOLEAN = 6;
  private static final int DOUBLE = 7;
  private static final int BIG_INTEGER = 8;

  private final ExtendedActorSystem system;
  private volatile ActorRefResolver resolver;
  private volatile Serialization serialization;
  private volatile PayloadCodec codec;

  public HotMessageSerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return ID;
  }

  @Override
  public String manifest(Object message) {
    if (message instanceof WorkerCommand.DispatchAll) {
      return DISPATCH_ALL;
    } else if (message instanceof QueueCommand.Reports) {
      return REPORTS;
    } else if (message instanceof TaskOutcome.Succeeded) {
      return OUTCOME_SUCCEEDED;
    } else if (message instanceof QueueCommand.Enqueue) {
      return ENQUEUE;
    } else if (message instanceof WorkerCommand.Dispatch) {
      return DISPATCH;
    } else if (message instanceof QueueCommand.TaskSucceeded) {
      return SUCCEEDED;
    } else if (message instanceof QueueCommand.TaskFailed) {
      return FAILED;
    } else if (message instanceof QueueCommand.TaskDeclined) {
      return DECLINED;
    } else if (message instanceof TaskOutcome.Failed) {
      return OUTCOME_FAILED;
    } else if (message instanceof TaskOutcome.Rejected) {
      return OUTCOME_REJECTED;
    }
    throw new IllegalArgumentException(
        "HotMessageSerializer cannot serialise a " + message.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object message) {
    return write(message, new Out()).bytes();
  }

  /**
   * Writes {@code message} straight into Artery's envelope buffer, through a buffer of this thread
   * that is kept between messages: no array per message, none grown and copied as it fills.
   *
   * @throws java.nio.BufferOverflowException when the message is larger than the envelope buffer
   *     ({@code pekko.remote.artery.advanced.maximum-frame-size}), as Artery expects
   */
  @Override
  public void toBinary(Object message, ByteBuffer buffer) {
    Out out = scratch.get();
    try {
      write(message, out);
      buffer.put(out.buffer, 0, out.size);
    } finally {
      out.reset();
    }
  }

  @Override
  public Object fromBinary(ByteBuffer buffer, String manifest) throws NotSerializableException {
    // Artery's buffers are direct: the bytes are copied once, as Pekko does for any serializer
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return fromBinary(bytes, manifest);
  }

  private Out write(Object message, Out out) {
    if (message instanceof WorkerCommand.DispatchAll all) {
      out.varint(all.tasks().size());
      String[] last = new String[REPEATED_FIELDS];
      for (TaskEnvelope task : all.tasks()) {
        envelope(out, task, last);
      }
      out.ref(all.replyTo());
    } else if (message instanceof QueueCommand.Reports reports) {
      String[] last = new String[REPEATED_FIELDS];
      out.varint(reports.succeeded().size());
      for (QueueCommand.TaskSucceeded s : reports.succeeded()) {
        succeeded(out, s, last);
      }
      out.varint(reports.failed().size());
      for (QueueCommand.TaskFailed f : reports.failed()) {
        failed(out, f, last);
      }
      out.varint(reports.declined().size());
      for (QueueCommand.TaskDeclined d : reports.declined()) {
        declined(out, d, last);
      }
    } else if (message instanceof TaskOutcome.Succeeded s) {
      out.string(s.taskId());
      out.string(s.flowId());
      out.string(s.runId());
      out.string(s.taskType());
      out.varint(s.attempt());
      out.string(s.workerId());
      payload(out, s.result());
    } else if (message instanceof QueueCommand.Enqueue enqueue) {
      out.varint(enqueue.tasks().size());
      String[] last = new String[REPEATED_FIELDS];
      for (TaskEnvelope task : enqueue.tasks()) {
        envelope(out, task, last);
      }
      out.ref(enqueue.replyTo());
    } else if (message instanceof WorkerCommand.Dispatch dispatch) {
      envelope(out, dispatch.task(), new String[REPEATED_FIELDS]);
      out.ref(dispatch.replyTo());
    } else if (message instanceof QueueCommand.TaskSucceeded s) {
      succeeded(out, s, new String[REPEATED_FIELDS]);
    } else if (message instanceof QueueCommand.TaskFailed f) {
      failed(out, f, new String[REPEATED_FIELDS]);
    } else if (message instanceof QueueCommand.TaskDeclined d) {
      declined(out, d, new String[REPEATED_FIELDS]);
    } else if (message instanceof TaskOutcome.Failed f) {
      out.string(f.taskId());
      out.string(f.flowId());
      out.string(f.runId());
      out.string(f.taskType());
      out.varint(f.attempts());
      out.string(f.reason());
    } else if (message instanceof TaskOutcome.Rejected r) {
      out.string(r.taskId());
      out.string(r.flowId());
      out.string(r.runId());
      out.string(r.taskType());
      out.string(r.reason());
    } else {
      throw new IllegalArgumentException(
          "HotMessageSerializer cannot serialise a " + message.getClass().getName());
    }
    return out;
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    switch (manifest) {
      case DISPATCH_ALL:
        {
          int n = varint(in);
          List<TaskEnvelope> tasks = new ArrayList<>(n);
          String[] last = new String[REPEATED_FIELDS];
          for (int i = 0; i < n; i++) {
            tasks.add(envelope(in, last));
          }
          return new WorkerCommand.DispatchAll(tasks, ref(in));
        }
      case REPORTS:
        {
          String[] last = new String[REPEATED_FIELDS];
          int n = varint(in);
          List<QueueCommand.TaskSucceeded> succeeded = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            succeeded.add(succeeded(in, last));
          }
          n = varint(in);
          List<QueueCommand.TaskFailed> failed = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            failed.add(failed(in, last));
          }
          n = varint(in);
          List<QueueCommand.TaskDeclined> declined = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            declined.add(declined(in, last));
          }
          return new QueueCommand.Reports(succeeded, failed, declined);
        }
      case OUTCOME_SUCCEEDED:
        return new TaskOutcome.Succeeded(
            string(in), string(in), string(in), string(in), varint(in), string(in), payload(in));
      case ENQUEUE:
        {
          int n = varint(in);
          List<TaskEnvelope> tasks = new ArrayList<>(n);
          String[] last = new String[REPEATED_FIELDS];
          for (int i = 0; i < n; i++) {
            tasks.add(envelope(in, last));
          }
          return new QueueCommand.Enqueue(tasks, ref(in));
        }
      case DISPATCH:
        return new WorkerCommand.Dispatch(envelope(in, new String[REPEATED_FIELDS]), ref(in));
      case SUCCEEDED:
        return succeeded(in, new String[REPEATED_FIELDS]);
      case FAILED:
        return failed(in, new String[REPEATED_FIELDS]);
      case DECLINED:
        return declined(in, new String[REPEATED_FIELDS]);
      case OUTCOME_FAILED:
        return new TaskOutcome.Failed(
            string(in), string(in), string(in), string(in), varint(in), string(in));
      case OUTCOME_REJECTED:
        return new TaskOutcome.Rejected(string(in), string(in), string(in), string(in), string(in));
      default:
        throw new NotSerializableException(
            "HotMessageSerializer does not know the manifest [" + manifest + "]");
    }
  }

  // ---- the parts ----

  /**
   * The fields that mostly repeat from one task or report of a message to the next (one worker's
   * reports, one flow's fan-out): each is written once and then as "the same again" ({@link
   * Out#repeated}), indexed in {@code last} by these.
   */
  private static final int FLOW = 0;

  private static final int RUN = 1;
  private static final int TYPE = 2;
  private static final int WORKER = 3;
  private static final int INCARNATION = 4;
  private static final int REPEATED_FIELDS = 5;

  private void envelope(Out out, TaskEnvelope task, String[] last) {
    out.string(task.taskId());
    out.repeated(task.flowId(), last, FLOW);
    out.repeated(task.runId(), last, RUN);
    out.repeated(task.taskType(), last, TYPE);
    out.varint(task.attempt());
    payload(out, task.payload());
    out.varlong(task.flowSeq());
  }

  private TaskEnvelope envelope(ByteBuffer in, String[] last) {
    return new TaskEnvelope(
        string(in),
        repeated(in, last, FLOW),
        repeated(in, last, RUN),
        repeated(in, last, TYPE),
        varint(in),
        payload(in),
        varlong(in));
  }

  /** The worker, its incarnation, the task and its run and type, as every report starts. */
  private static void reportHead(
      Out out,
      String workerId,
      String incarnation,
      String taskId,
      String runId,
      String taskType,
      String[] last) {
    out.repeated(workerId, last, WORKER);
    out.repeated(incarnation, last, INCARNATION);
    out.string(taskId);
    out.repeated(runId, last, RUN);
    out.repeated(taskType, last, TYPE);
  }

  private void succeeded(Out out, QueueCommand.TaskSucceeded s, String[] last) {
    reportHead(out, s.workerId(), s.incarnation(), s.taskId(), s.runId(), s.taskType(), last);
    out.varint(s.attempt());
    payload(out, s.result());
  }

  private QueueCommand.TaskSucceeded succeeded(ByteBuffer in, String[] last) {
    return new QueueCommand.TaskSucceeded(
        repeated(in, last, WORKER),
        repeated(in, last, INCARNATION),
        string(in),
        repeated(in, last, RUN),
        repeated(in, last, TYPE),
        varint(in),
        payload(in));
  }

  private static void failed(Out out, QueueCommand.TaskFailed f, String[] last) {
    reportHead(out, f.workerId(), f.incarnation(), f.taskId(), f.runId(), f.taskType(), last);
    out.varint(f.attempt());
    out.string(f.reason());
    out.bool(f.retryable());
  }

  private static QueueCommand.TaskFailed failed(ByteBuffer in, String[] last) {
    return new QueueCommand.TaskFailed(
        repeated(in, last, WORKER),
        repeated(in, last, INCARNATION),
        string(in),
        repeated(in, last, RUN),
        repeated(in, last, TYPE),
        varint(in),
        string(in),
        in.get() != 0);
  }

  private static void declined(Out out, QueueCommand.TaskDeclined d, String[] last) {
    reportHead(out, d.workerId(), d.incarnation(), d.taskId(), d.runId(), d.taskType(), last);
    out.varint(d.attempt());
    out.string(d.reason());
    out.bool(d.noFreeSlot());
  }

  private static QueueCommand.TaskDeclined declined(ByteBuffer in, String[] last) {
    return new QueueCommand.TaskDeclined(
        repeated(in, last, WORKER),
        repeated(in, last, INCARNATION),
        string(in),
        repeated(in, last, RUN),
        repeated(in, last, TYPE),
        varint(in),
        string(in),
        in.get() != 0);
  }

  private void payload(Out out, Object value) {
    if (value == null) {
      out.tag(NULL);
    } else if (value instanceof SerializedPayload serialized) {
      out.tag(SERIALIZED);
      serialized(out, serialized);
    } else if (value instanceof String s) {
      out.tag(STRING);
      out.string(s);
    } else if (value instanceof Long l) {
      out.tag(LONG);
      out.fixedLong(l);
    } else if (value instanceof Integer i) {
      out.tag(INTEGER);
      out.fixedLong(i);
    } else if (value instanceof Boolean b) {
      out.tag(BOOLEAN);
      out.bool(b);
    } else if (value instanceof Double d) {
      out.tag(DOUBLE);
      out.fixedLong(Double.doubleToRawLongBits(d));
    } else if (value instanceof BigInteger big) {
      out.tag(BIG_INTEGER);
      out.blob(big.toByteArray());
    } else {
      if (!AnyValue.isAllowed(value.getClass())) {
        throw new IllegalArgumentException(
            value.getClass().getName()
                + " cannot travel as a task value: make it a record implementing "
                + CborSerializable.class.getName());
      }
      SerializedPayload live = SerializedPayload.of(serialization(), value);
      out.tag(LIVE);
      serialized(out, live);
    }
  }

  private static void serialized(Out out, SerializedPayload serialized) {
    out.fixedInt(serialized.serializerId());
    out.string(serialized.manifest());
    out.blob(serialized.bytes());
  }

  private Object payload(ByteBuffer in) {
    int tag = in.get();
    switch (tag) {
      case NULL:
        return null;
      case SERIALIZED:
        return serialized(in);
      case LIVE:
        return codec().decode(serialized(in));
      case STRING:
        return string(in);
      case LONG:
        return in.getLong();
      case INTEGER:
        return (int) in.getLong();
      case BOOLEAN:
        return in.get() != 0;
      case DOUBLE:
        return Double.longBitsToDouble(in.getLong());
      case BIG_INTEGER:
        return new BigInteger(blob(in));
      default:
        throw new IllegalArgumentException("unknown payload tag " + tag);
    }
  }

  private static SerializedPayload serialized(ByteBuffer in) {
    int id = in.getInt();
    String manifest = string(in);
    return new SerializedPayload(id, manifest, blob(in));
  }

  private Serialization serialization() {
    Serialization s = serialization;
    if (s == null) {
      s = SerializationExtension.get(system);
      serialization = s;
    }
    return s;
  }

  private PayloadCodec codec() {
    PayloadCodec c = codec;
    if (c == null) {
      c = PayloadCodec.get(Adapter.toTyped(system));
      codec = c;
    }
    return c;
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }

  private <T> ActorRef<T> ref(ByteBuffer in) {
    String path = string(in);
    return path == null ? null : resolver().resolveActorRef(path);
  }

  private static int varint(ByteBuffer in) {
    int value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      byte b = in.get();
      value |= (b & 0x7f) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("malformed varint");
  }

  private static long varlong(ByteBuffer in) {
    long value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      byte b = in.get();
      value |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("malformed varlong");
  }

  private static String string(ByteBuffer in) {
    int length = varint(in) - 1;
    return length < 0 ? null : utf8(in, length);
  }

  /** What {@link Out#repeated} wrote; {@code last[field]} follows it. */
  private static String repeated(ByteBuffer in, String[] last, int field) {
    int code = varint(in);
    if (code != SAME_AGAIN) {
      last[field] = code == 0 ? null : utf8(in, code - 2);
    }
    return last[field];
  }

  private static String utf8(ByteBuffer in, int length) {
    String s =
        new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return s;
  }

  /** The code of {@link Out#repeated} for "the same as this field's last value". */
  private static final int SAME_AGAIN = 1;

  private static byte[] blob(ByteBuffer in) {
    byte[] bytes = new byte[varint(in)];
    in.get(bytes);
    return bytes;
  }

  /**
   * Per thread, what {@link #toBinary(Object, ByteBuffer)} writes into; a buffer grown past {@value
   * #KEPT_BYTES} bytes by a large message is not kept.
   */
  private final ThreadLocal<Out> scratch = ThreadLocal.withInitial(() -> new Out(4096));

  private static final int KEPT_BYTES = 64 * 1024;

  /** A growing byte array: what one message is written into. */
  private final class Out {
    private byte[] buffer;
    private int size;

    Out() {
      this(256);
    }

    Out(int capacity) {
      buffer = new byte[capacity];
    }

    void reset() {
      size = 0;
      if (buffer.length > KEPT_BYTES) {
        buffer = new byte[4096];
      }
    }

    private void ensure(int more) {
      if (size + more > buffer.length) {
        buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, size + more));
      }
    }

    void tag(int tag) {
      ensure(1);
      buffer[size++] = (byte) tag;
    }

    void bool(boolean b) {
      tag(b ? 1 : 0);
    }

    void varint(int value) {
      ensure(5);
      int v = value;
      while ((v & ~0x7f) != 0) {
        buffer[size++] = (byte) ((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      buffer[size++] = (byte) v;
    }

    void varlong(long value) {
      ensure(10);
      long v = value;
      while ((v & ~0x7fL) != 0) {
        buffer[size++] = (byte) ((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      buffer[size++] = (byte) v;
    }

    void fixedInt(int v) {
      ensure(4);
      buffer[size++] = (byte) (v >>> 24);
      buffer[size++] = (byte) (v >>> 16);
      buffer[size++] = (byte) (v >>> 8);
      buffer[size++] = (byte) v;
    }

    void fixedLong(long v) {
      fixedInt((int) (v >>> 32));
      fixedInt((int) v);
    }

    void string(String s) {
      if (s == null) {
        varint(0);
        return;
      }
      text(s, 1);
    }

    /**
     * A field that mostly repeats within a message: {@value #SAME_AGAIN} when it equals {@code
     * last[field]}, else as {@link #string} with lengths shifted by one more (0 for null), and then
     * {@code last[field]} is it.
     */
    void repeated(String s, String[] last, int field) {
      if (s != null && s.equals(last[field])) {
        varint(SAME_AGAIN);
        return;
      }
      last[field] = s;
      if (s == null) {
        varint(0);
      } else {
        text(s, 2);
      }
    }

    /** {@code s} as its UTF-8 length plus {@code shift}, then its bytes. */
    private void text(String s, int shift) {
      // ids, types and manifests are ASCII: one byte per char, written without an array of their
      // own; on the first other char, back to the start and UTF-8 through the JDK
      int n = s.length();
      int mark = size;
      varint(n + shift);
      ensure(n);
      for (int i = 0; i < n; i++) {
        char c = s.charAt(i);
        if (c >= 0x80) {
          size = mark;
          byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
          varint(utf8.length + shift);
          raw(utf8);
          return;
        }
        buffer[size++] = (byte) c;
      }
    }

    void blob(byte[] bytes) {
      varint(bytes.length);
      raw(bytes);
    }

    private void raw(byte[] bytes) {
      ensure(bytes.length);
      System.arraycopy(bytes, 0, buffer, size, bytes.length);
      size += bytes.length;
    }

    <T> void ref(ActorRef<T> ref) {
      string(ref == null ? null : resolver().toSerializationFormat(ref));
    }

    byte[] bytes() {
      return Arrays.copyOf(buffer, size);
    }
  }
}
