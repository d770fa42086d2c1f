package kafkars.oracle;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;

/**
 * Record-batch access by reflection.
 *
 * kafka-clients 4.x moved MemoryRecords, RecordBatch, Record, MemoryRecordsBuilder, CompressionType ... from
 * {@code org.apache.kafka.common.record} to {@code org.apache.kafka.common.record.internal}; the method
 * signatures we use are otherwise identical, so one jar can drive both versions by looking the classes up at
 * runtime. TimestampType, Compression and Header did not move and are used directly.
 */
final class Recs {
    static final String PKG;
    static final Class<?> MEMORY_RECORDS;
    static final Class<?> RECORD_BATCH;
    static final Class<?> RECORD;
    static final Class<?> BUILDER;

    private static final Method READABLE_RECORDS;
    private static final Method BATCHES;
    private static final Method MR_BUFFER;
    private static final Method BUILDER_FULL; // builder(ByteBuffer, byte, Compression, TimestampType, long, long, long, short, int, boolean, int)
    private static final Method APPEND_WITH_OFFSET; // appendWithOffset(long, long, byte[], byte[], Header[])
    private static final Method APPEND; // append(long, byte[], byte[], Header[])
    private static final Method BUILD;

    private static final Method B_MAGIC, B_BASE_OFFSET, B_LAST_OFFSET, B_COMPRESSION, B_IS_CONTROL, B_IS_TXN,
            B_PRODUCER_ID, B_PRODUCER_EPOCH, B_BASE_SEQUENCE, B_PLE, B_TS_TYPE, B_MAX_TS, B_CHECKSUM,
            B_ENSURE_VALID, B_ITERATOR, B_SIZE;
    private static final Method R_OFFSET, R_TIMESTAMP, R_KEY, R_VALUE, R_HEADERS;

    static {
        try {
            String pkg = "org.apache.kafka.common.record.internal.";
            Class<?> mr;
            try {
                mr = Class.forName(pkg + "MemoryRecords");
            } catch (ClassNotFoundException e) {
                pkg = "org.apache.kafka.common.record.";
                mr = Class.forName(pkg + "MemoryRecords");
            }
            PKG = pkg;
            MEMORY_RECORDS = mr;
            RECORD_BATCH = Class.forName(pkg + "RecordBatch");
            RECORD = Class.forName(pkg + "Record");
            BUILDER = Class.forName(pkg + "MemoryRecordsBuilder");
            READABLE_RECORDS = mr.getMethod("readableRecords", ByteBuffer.class);
            BATCHES = mr.getMethod("batches");
            MR_BUFFER = mr.getMethod("buffer");
            BUILDER_FULL = mr.getMethod("builder", ByteBuffer.class, byte.class, Compression.class, TimestampType.class,
                    long.class, long.class, long.class, short.class, int.class, boolean.class, int.class);
            APPEND_WITH_OFFSET = BUILDER.getMethod("appendWithOffset", long.class, long.class, byte[].class,
                    byte[].class, Header[].class);
            APPEND = BUILDER.getMethod("append", long.class, byte[].class, byte[].class, Header[].class);
            BUILD = BUILDER.getMethod("build");
            Class<?> b = RECORD_BATCH;
            B_MAGIC = b.getMethod("magic");
            B_BASE_OFFSET = b.getMethod("baseOffset");
            B_LAST_OFFSET = b.getMethod("lastOffset");
            B_COMPRESSION = b.getMethod("compressionType");
            B_IS_CONTROL = b.getMethod("isControlBatch");
            B_IS_TXN = b.getMethod("isTransactional");
            B_PRODUCER_ID = b.getMethod("producerId");
            B_PRODUCER_EPOCH = b.getMethod("producerEpoch");
            B_BASE_SEQUENCE = b.getMethod("baseSequence");
            B_PLE = b.getMethod("partitionLeaderEpoch");
            B_TS_TYPE = b.getMethod("timestampType");
            B_MAX_TS = b.getMethod("maxTimestamp");
            B_CHECKSUM = b.getMethod("checksum");
            B_ENSURE_VALID = b.getMethod("ensureValid");
            B_ITERATOR = b.getMethod("iterator");
            B_SIZE = b.getMethod("sizeInBytes");
            Class<?> r = RECORD;
            R_OFFSET = r.getMethod("offset");
            R_TIMESTAMP = r.getMethod("timestamp");
            R_KEY = r.getMethod("key");
            R_VALUE = r.getMethod("value");
            R_HEADERS = r.getMethod("headers");
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Recs() {
    }

    static Object call(Method m, Object target, Object... args) {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException) {
                throw (RuntimeException) c;
            }
            if (c instanceof Error) {
                throw (Error) c;
            }
            throw new RuntimeException(c);
        } catch (IllegalAccessException e) {
            throw new RuntimeException(e);
        }
    }

    /** MemoryRecords.readableRecords(buf) (returned as Object: its class depends on the version). */
    static Object readable(ByteBuffer buf) {
        return call(READABLE_RECORDS, null, buf);
    }

    static ByteBuffer buffer(Object memoryRecords) {
        return (ByteBuffer) call(MR_BUFFER, memoryRecords);
    }

    static String timestampType(TimestampType t) {
        switch (t) {
            case CREATE_TIME: return "create";
            case LOG_APPEND_TIME: return "append";
            default: return "none";
        }
    }

    static TimestampType timestampType(String s) {
        switch (s) {
            case "create": return TimestampType.CREATE_TIME;
            case "append": return TimestampType.LOG_APPEND_TIME;
            case "none": return TimestampType.NO_TIMESTAMP_TYPE;
            default: throw new IllegalArgumentException("bad timestamp_type " + s);
        }
    }

    /** records-read: decode, validate every batch, describe as JSON. */
    static String read(byte[] data) {
        Object records = readable(ByteBuffer.wrap(data));
        StringBuilder sb = new StringBuilder(256 + data.length * 2);
        sb.append('[');
        boolean firstBatch = true;
        for (Object batch : (Iterable<?>) call(BATCHES, records)) {
            call(B_ENSURE_VALID, batch);
            if (!firstBatch) {
                sb.append(',');
            }
            firstBatch = false;
            sb.append("{\"magic\":").append(((Number) call(B_MAGIC, batch)).intValue());
            sb.append(",\"base_offset\":").append(call(B_BASE_OFFSET, batch));
            sb.append(",\"last_offset\":").append(call(B_LAST_OFFSET, batch));
            sb.append(",\"compression\":");
            Json.str(sb, ((Enum<?>) call(B_COMPRESSION, batch)).name().toLowerCase(java.util.Locale.ROOT));
            sb.append(",\"is_control\":").append(call(B_IS_CONTROL, batch));
            sb.append(",\"is_transactional\":").append(call(B_IS_TXN, batch));
            sb.append(",\"producer_id\":").append(call(B_PRODUCER_ID, batch));
            sb.append(",\"producer_epoch\":").append(call(B_PRODUCER_EPOCH, batch));
            sb.append(",\"base_sequence\":").append(call(B_BASE_SEQUENCE, batch));
            sb.append(",\"partition_leader_epoch\":").append(call(B_PLE, batch));
            sb.append(",\"timestamp_type\":");
            Json.str(sb, timestampType((TimestampType) call(B_TS_TYPE, batch)));
            sb.append(",\"max_timestamp\":").append(call(B_MAX_TS, batch));
            sb.append(",\"crc\":").append(call(B_CHECKSUM, batch));
            sb.append(",\"size_in_bytes\":").append(call(B_SIZE, batch));
            sb.append(",\"records\":[");
            Iterator<?> it = (Iterator<?>) call(B_ITERATOR, batch);
            boolean firstRec = true;
            while (it.hasNext()) {
                Object rec = it.next();
                if (!firstRec) {
                    sb.append(',');
                }
                firstRec = false;
                sb.append("{\"offset\":").append(call(R_OFFSET, rec));
                sb.append(",\"timestamp\":").append(call(R_TIMESTAMP, rec));
                sb.append(",\"key\":");
                hexOrNull(sb, (ByteBuffer) call(R_KEY, rec));
                sb.append(",\"value\":");
                hexOrNull(sb, (ByteBuffer) call(R_VALUE, rec));
                sb.append(",\"headers\":[");
                Header[] hs = (Header[]) call(R_HEADERS, rec);
                for (int i = 0; i < hs.length; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    sb.append('[');
                    Json.str(sb, hs[i].key());
                    sb.append(',');
                    byte[] hv = hs[i].value();
                    if (hv == null) {
                        sb.append("null");
                    } else {
                        sb.append('"').append(Hex.encode(hv)).append('"');
                    }
                    sb.append(']');
                }
                sb.append("]}");
            }
            if (it instanceof AutoCloseable) {
                try {
                    ((AutoCloseable) it).close();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }
            sb.append("]}");
        }
        sb.append(']');
        return sb.toString();
    }

    private static void hexOrNull(StringBuilder sb, ByteBuffer b) {
        if (b == null) {
            sb.append("null");
            return;
        }
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        sb.append('"').append(Hex.encode(a)).append('"');
    }

    private static long longOr(Map<String, Object> m, String k, long dflt) {
        Object v = m.get(k);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Long)) {
            throw new IllegalArgumentException(k + " must be an integer");
        }
        return (Long) v;
    }

    private static byte[] hexField(Map<String, Object> m, String k) {
        Object v = m.get(k);
        if (v == null) {
            return null;
        }
        return Hex.decode((String) v);
    }

    static Compression compression(String name) {
        switch (name) {
            case "none": return Compression.NONE;
            case "gzip": return Compression.gzip().build();
            case "snappy": return Compression.snappy().build();
            case "lz4": return Compression.lz4().build();
            case "zstd": return Compression.zstd().build();
            default: throw new IllegalArgumentException("unknown compression " + name);
        }
    }

    /**
     * records-build: one batch (or, for magic 0/1 uncompressed, a message set) built by MemoryRecordsBuilder.
     *
     * @param opts optional batch options (may be null): producer_id, producer_epoch, base_sequence,
     *             is_transactional, partition_leader_epoch, timestamp_type (create|append), log_append_time
     */
    @SuppressWarnings("unchecked")
    static byte[] build(byte magic, String compression, long baseOffset, List<Object> records, Map<String, Object> opts) {
        if (opts == null) {
            opts = java.util.Collections.emptyMap();
        }
        TimestampType tt = opts.get("timestamp_type") == null ? TimestampType.CREATE_TIME
                : timestampType((String) opts.get("timestamp_type"));
        long logAppendTime = longOr(opts, "log_append_time", -1L);
        long producerId = longOr(opts, "producer_id", -1L);
        short producerEpoch = (short) longOr(opts, "producer_epoch", -1L);
        int baseSequence = (int) longOr(opts, "base_sequence", -1L);
        boolean txn = Boolean.TRUE.equals(opts.get("is_transactional"));
        int ple = (int) longOr(opts, "partition_leader_epoch", -1L);
        Object builder = call(BUILDER_FULL, null, ByteBuffer.allocate(1024), magic, compression(compression), tt,
                baseOffset, logAppendTime, producerId, producerEpoch, baseSequence, txn, ple);
        for (Object o : records) {
            Map<String, Object> r = (Map<String, Object>) o;
            long ts = longOr(r, "timestamp", -1L);
            byte[] key = hexField(r, "key");
            byte[] value = hexField(r, "value");
            Header[] headers = new Header[0];
            Object hs = r.get("headers");
            if (hs != null) {
                List<Object> hl = (List<Object>) hs;
                headers = new Header[hl.size()];
                for (int i = 0; i < hl.size(); i++) {
                    List<Object> pair = (List<Object>) hl.get(i);
                    if (pair.size() != 2) {
                        throw new IllegalArgumentException("header must be [key, hex|null]");
                    }
                    Object hv = pair.get(1);
                    headers[i] = new RecordHeader((String) pair.get(0), hv == null ? null : Hex.decode((String) hv));
                }
            }
            if (r.get("offset") != null) {
                call(APPEND_WITH_OFFSET, builder, longOr(r, "offset", 0), ts, key, value, headers);
            } else {
                call(APPEND, builder, ts, key, value, headers);
            }
        }
        ByteBuffer out = buffer(call(BUILD, builder)).duplicate();
        byte[] a = new byte[out.remaining()];
        out.get(a);
        return a;
    }
}
