package kafkars.oracle;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.protocol.types.BoundField;
import org.apache.kafka.common.protocol.types.Schema;
import org.apache.kafka.common.protocol.types.Struct;
import org.apache.kafka.common.protocol.types.TaggedFields;
import org.apache.kafka.common.protocol.types.Type;

/**
 * Deterministic random value generator driven by a protocol {@link Schema}: produces a {@link Struct} (and its
 * nested values) that the Schema serializer can write.
 */
final class Gen {
    /** Identity map from the Type.XXX singletons of the running kafka-clients to their field names. */
    static final Map<Object, String> PRIMITIVES = new IdentityHashMap<>();
    private static final Field TAGGED_FIELDS_MAP;

    static {
        for (Field f : Type.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && Type.class.isAssignableFrom(f.getType())) {
                try {
                    PRIMITIVES.put(f.get(null), f.getName());
                } catch (IllegalAccessException e) {
                    throw new ExceptionInInitializerError(e);
                }
            }
        }
        try {
            TAGGED_FIELDS_MAP = TaggedFields.class.getDeclaredField("fields");
            TAGGED_FIELDS_MAP.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final String[] PIECES = {
        "a", "b", "z", "K", "0", "9", "_", "-", ".", " ", "é", "ß", "中", "文", "ж", "\u00ff", "\u0800",
        "\uD83D\uDE00", "\uD83D\uDE80", "\"", "\\", "/", "\n", "\t", "\u0000", "\u007f", "\uFFFD"
    };

    private final Random r;
    private final boolean recordsNullable;

    /**
     * @param recordsNullable whether nullable-looking RECORDS types may be null. kafka-clients 3.x has a single
     *                        nullable RECORDS/COMPACT_RECORDS type even for non-nullable records fields, so the
     *                        caller retries with false when the Data class rejects a null.
     */
    Gen(long seed, boolean recordsNullable) {
        this.r = new Random(seed);
        this.recordsNullable = recordsNullable;
    }

    @SuppressWarnings("unchecked")
    static Map<Integer, org.apache.kafka.common.protocol.types.Field> taggedFields(TaggedFields t) {
        try {
            return (Map<Integer, org.apache.kafka.common.protocol.types.Field>) TAGGED_FIELDS_MAP.get(t);
        } catch (IllegalAccessException e) {
            throw new RuntimeException(e);
        }
    }

    Struct struct(Schema s, int depth) {
        Struct st = new Struct(s);
        for (BoundField bf : s.fields()) {
            st.set(bf, value(bf.def.type, depth + 1));
        }
        return st;
    }

    private boolean maybeNull(Type t) {
        return t.isNullable() && r.nextInt(5) == 0;
    }

    Object value(Type t, int depth) {
        if (t instanceof SchemaFix.NullableStruct) {
            if (maybeNull(t)) {
                return null;
            }
            return struct(((SchemaFix.NullableStruct) t).inner, depth);
        }
        if (t instanceof Schema) {
            if (maybeNull(t)) {
                return null;
            }
            return struct((Schema) t, depth);
        }
        if (t instanceof TaggedFields) {
            TreeMap<Integer, Object> m = new TreeMap<>();
            for (Map.Entry<Integer, org.apache.kafka.common.protocol.types.Field> e
                    : taggedFields((TaggedFields) t).entrySet()) {
                if (r.nextBoolean()) {
                    m.put(e.getKey(), value(e.getValue().type, depth + 1));
                }
            }
            return m;
        }
        if (t.isArray()) {
            if (maybeNull(t)) {
                return null;
            }
            Type elem = t.arrayElementType().get();
            int n = r.nextInt(depth > 8 ? 2 : 4);
            Object[] a = new Object[n];
            for (int i = 0; i < n; i++) {
                a[i] = value(elem, depth + 1);
            }
            return a;
        }
        String name = PRIMITIVES.get(t);
        if (name == null) {
            throw new IllegalStateException("unsupported schema type " + t + " (" + t.getClass().getName() + ")");
        }
        switch (name) {
            case "BOOLEAN": return r.nextBoolean();
            case "INT8": return (byte) anyInt(Byte.MIN_VALUE, Byte.MAX_VALUE);
            case "INT16": return (short) anyInt(Short.MIN_VALUE, Short.MAX_VALUE);
            case "UINT16": return anyInt(0, 0xffff);
            case "INT32":
            case "VARINT": return anyInt(Integer.MIN_VALUE, Integer.MAX_VALUE);
            case "UNSIGNED_INT32": return anyLong(0, 0xffffffffL);
            case "INT64":
            case "VARLONG": return anyLong(Long.MIN_VALUE, Long.MAX_VALUE);
            case "FLOAT64": return anyDouble();
            case "UUID": return anyUuid();
            case "STRING":
            case "COMPACT_STRING": return string();
            case "NULLABLE_STRING":
            case "COMPACT_NULLABLE_STRING": return maybeNull(t) ? null : string();
            case "BYTES":
            case "COMPACT_BYTES": return ByteBuffer.wrap(bytes());
            case "NULLABLE_BYTES":
            case "COMPACT_NULLABLE_BYTES": return maybeNull(t) ? null : ByteBuffer.wrap(bytes());
            case "RECORDS":
            case "COMPACT_RECORDS":
            case "NULLABLE_RECORDS":
            case "COMPACT_NULLABLE_RECORDS": return recordsNullable && maybeNull(t) ? null : records();
            default:
                throw new IllegalStateException("unsupported primitive type " + name);
        }
    }

    int anyInt(int lo, int hi) {
        switch (r.nextInt(8)) {
            case 0: return lo;
            case 1: return hi;
            case 2: return lo <= 0 && hi >= 0 ? 0 : lo;
            case 3: return lo <= -1 ? -1 : (hi >= 1 ? 1 : lo);
            default:
                long span = (long) hi - (long) lo + 1;
                return (int) (lo + (long) (r.nextDouble() * span));
        }
    }

    long anyLong(long lo, long hi) {
        switch (r.nextInt(8)) {
            case 0: return lo;
            case 1: return hi;
            case 2: return lo <= 0 && hi >= 0 ? 0 : lo;
            case 3: return lo <= -1 ? -1 : (hi >= 1 ? 1 : lo);
            case 4: return Math.max(lo, Math.min(hi, r.nextInt()));
            default:
                if (lo == Long.MIN_VALUE && hi == Long.MAX_VALUE) {
                    return r.nextLong();
                }
                long v = r.nextLong() & Long.MAX_VALUE;
                return lo + v % (hi - lo + 1);
        }
    }

    double anyDouble() {
        switch (r.nextInt(10)) {
            case 0: return 0.0;
            case 1: return -0.0;
            case 2: return Double.POSITIVE_INFINITY;
            case 3: return Double.NEGATIVE_INFINITY;
            case 4: return Double.NaN;
            case 5: return Double.MIN_VALUE;
            case 6: return Double.MAX_VALUE;
            case 7: return (r.nextInt(2001) - 1000) / 8.0;
            default:
                while (true) {
                    double d = Double.longBitsToDouble(r.nextLong());
                    if (!Double.isNaN(d)) {
                        return d;
                    }
                }
        }
    }

    Uuid anyUuid() {
        switch (r.nextInt(6)) {
            case 0: return Uuid.ZERO_UUID;
            case 1: return new Uuid(-1L, -1L);
            default: return new Uuid(r.nextLong(), r.nextLong());
        }
    }

    String string() {
        int n = r.nextInt(9);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (r.nextInt(3) == 0) {
                sb.append(PIECES[r.nextInt(PIECES.length)]);
            } else {
                sb.append((char) ('a' + r.nextInt(26)));
            }
        }
        return sb.toString();
    }

    byte[] bytes() {
        byte[] b = new byte[r.nextInt(9)];
        r.nextBytes(b);
        return b;
    }

    /** An opaque records blob: either random bytes or a real, valid v2 batch (uncompressed). */
    Object records() {
        byte[] data;
        if (r.nextBoolean()) {
            data = bytes();
        } else {
            int n = 1 + r.nextInt(2);
            java.util.List<Object> recs = new java.util.ArrayList<>();
            long ts = r.nextInt(Integer.MAX_VALUE) * 1000L;
            for (int i = 0; i < n; i++) {
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("timestamp", ts + i);
                m.put("key", r.nextBoolean() ? null : Hex.encode(bytes()));
                m.put("value", r.nextInt(5) == 0 ? null : Hex.encode(bytes()));
                recs.add(m);
            }
            data = Recs.build((byte) 2, "none", r.nextInt(1000), recs, null);
        }
        return Recs.readable(ByteBuffer.wrap(data));
    }
}
