package kafkars.oracle;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.RequestHeaderData;
import org.apache.kafka.common.message.ResponseHeaderData;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.ObjectSerializationCache;
import org.apache.kafka.common.protocol.types.Schema;
import org.apache.kafka.common.protocol.types.Struct;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.common.utils.Utils;

/**
 * Line-oriented oracle over stdin/stdout: one command per line, exactly one answer line per command.
 * See tools/java-oracle/README.md for the protocol.
 */
public final class Oracle {

    /** An error whose message is the whole answer (no exception class prefix). */
    static final class OracleException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        OracleException(String m) {
            super(m);
        }
    }

    enum Kind {
        REQUEST("request"), RESPONSE("response"), REQUEST_HEADER("request_header"), RESPONSE_HEADER("response_header");

        final String word;

        Kind(String word) {
            this.word = word;
        }

        static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.word.equals(s)) {
                    return k;
                }
            }
            throw new OracleException("bad kind '" + s + "' (request|response|request_header|response_header)");
        }
    }

    private static final String QUIT = new String("quit");

    private Oracle() {
    }

    public static void main(String[] args) throws IOException {
        PrintStream realOut = System.out;
        // Keep library chatter away from the protocol channel.
        System.setOut(System.err);
        Writer out = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out),
                StandardCharsets.UTF_8), 1 << 16);
        if (args.length > 0) {
            // One-shot mode: the arguments form one command.
            out.write(answer(String.join(" ", args)));
            out.write('\n');
            out.flush();
            realOut.flush();
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        String line;
        while ((line = in.readLine()) != null) {
            String a = answer(line);
            if (a == QUIT) {
                break;
            }
            out.write(a);
            out.write('\n');
            out.flush();
        }
        out.flush();
        System.exit(0);
    }

    static String answer(String line) {
        try {
            String a = handle(line);
            return a;
        } catch (Throwable t) {
            return "err " + describe(t);
        }
    }

    static String describe(Throwable t) {
        while ((t instanceof java.lang.reflect.InvocationTargetException
                || t instanceof ExceptionInInitializerError) && t.getCause() != null) {
            t = t.getCause();
        }
        String m;
        if (t instanceof OracleException) {
            m = t.getMessage();
        } else {
            m = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
            if (t.getCause() != null && t.getCause() != t) {
                Throwable c = t.getCause();
                m += " (caused by " + c.getClass().getSimpleName()
                        + (c.getMessage() == null ? "" : ": " + c.getMessage()) + ")";
            }
        }
        return m.replace('\r', ' ').replace('\n', ' ');
    }

    static String handle(String line) {
        String trimmed = line.strip();
        if (trimmed.isEmpty()) {
            throw new OracleException("empty command");
        }
        String[] p = trimmed.split("\\s+");
        switch (p[0]) {
            case "quit":
            case "exit":
                return QUIT;
            case "ping":
                return "ok";
            case "version":
                return "ok " + AppInfoParser.getVersion();
            case "apis":
                return apis();
            case "errors":
                return errors();
            case "roundtrip": {
                need(p, 4, "roundtrip <apiKey> <kind> <version> <hex>");
                Kind kind = Kind.parse(p[2]);
                short key = parseShort(p[1], "apiKey");
                short v = parseShort(p[3], "version");
                byte[] in = p.length > 4 ? Hex.decode(p[4]) : new byte[0];
                return "ok " + Hex.encode(roundtrip(kind, key, v, in));
            }
            case "sample": {
                need(p, 6, "sample <apiKey> <kind> <version> <seed> <default|populated>");
                Kind kind = Kind.parse(p[2]);
                short key = parseShort(p[1], "apiKey");
                short v = parseShort(p[3], "version");
                long seed;
                try {
                    seed = Long.parseLong(p[4]);
                } catch (NumberFormatException e) {
                    throw new OracleException("bad seed '" + p[4] + "'");
                }
                boolean populated;
                if (p[5].equals("default")) {
                    populated = false;
                } else if (p[5].equals("populated")) {
                    populated = true;
                } else {
                    throw new OracleException("bad mode '" + p[5] + "' (default|populated)");
                }
                return "ok " + Hex.encode(sample(kind, key, v, seed, populated));
            }
            case "records-read": {
                byte[] in = p.length > 1 ? Hex.decode(p[1]) : new byte[0];
                return "ok " + Recs.read(in);
            }
            case "records-build":
                return "ok " + Hex.encode(recordsBuild(trimmed));
            case "murmur2": {
                need(p, 3, "murmur2 <hexkey> <numPartitions>");
                byte[] key = Hex.decode(p[1]);
                int n;
                try {
                    n = Integer.parseInt(p[2]);
                } catch (NumberFormatException e) {
                    throw new OracleException("bad numPartitions '" + p[2] + "'");
                }
                if (n <= 0) {
                    throw new OracleException("numPartitions must be > 0");
                }
                return "ok " + (Utils.toPositive(Utils.murmur2(key)) % n);
            }
            case "selftest": {
                int seeds = p.length > 1 ? Integer.parseInt(p[1]) : 5;
                return SelfTest.run(seeds);
            }
            default:
                throw new OracleException("unknown command '" + p[0] + "'");
        }
    }

    private static void need(String[] p, int n, String usage) {
        if (p.length < n) {
            throw new OracleException("usage: " + usage);
        }
    }

    private static short parseShort(String s, String what) {
        try {
            return Short.parseShort(s);
        } catch (NumberFormatException e) {
            throw new OracleException("bad " + what + " '" + s + "'");
        }
    }

    // ------------------------------------------------------------------ messages

    static ApiMessageType apiType(short key) {
        try {
            return ApiMessageType.fromApiKey(key);
        } catch (RuntimeException e) {
            throw new OracleException("unknown api key " + key);
        }
    }

    static Message newMessage(Kind kind, short key) {
        switch (kind) {
            case REQUEST: return apiType(key).newRequest();
            case RESPONSE: return apiType(key).newResponse();
            case REQUEST_HEADER: return new RequestHeaderData();
            default: return new ResponseHeaderData();
        }
    }

    /** [lowest, highest] including unstable versions. */
    static short[] versionRange(Kind kind, short key) {
        switch (kind) {
            case REQUEST:
            case RESPONSE: {
                ApiMessageType t = apiType(key);
                return new short[] {t.lowestSupportedVersion(), t.highestSupportedVersion(true)};
            }
            default: {
                Message m = newMessage(kind, key);
                return new short[] {m.lowestSupportedVersion(), m.highestSupportedVersion()};
            }
        }
    }

    static void checkVersion(Kind kind, short key, short v) {
        short[] r = versionRange(kind, key);
        if (v < r[0] || v > r[1]) {
            throw new OracleException("unsupported version " + v + " for " + describePair(kind, key)
                    + " (supported " + r[0] + ".." + r[1] + ")");
        }
    }

    static String describePair(Kind kind, short key) {
        if (kind == Kind.REQUEST_HEADER || kind == Kind.RESPONSE_HEADER) {
            return kind.word;
        }
        return apiType(key).name + "(" + key + ") " + kind.word;
    }

    static Schema schema(Kind kind, short key, short v) {
        Schema[] schemas;
        switch (kind) {
            case REQUEST: schemas = apiType(key).requestSchemas(); break;
            case RESPONSE: schemas = apiType(key).responseSchemas(); break;
            case REQUEST_HEADER: schemas = RequestHeaderData.SCHEMAS; break;
            default: schemas = ResponseHeaderData.SCHEMAS; break;
        }
        if (v < 0 || v >= schemas.length || schemas[v] == null) {
            throw new OracleException("no schema for " + describePair(kind, key) + " version " + v);
        }
        return schemas[v];
    }

    static byte[] encode(Message m, short v) {
        ObjectSerializationCache cache = new ObjectSerializationCache();
        int size = m.size(cache, v);
        ByteBuffer b = ByteBuffer.allocate(size);
        m.write(new ByteBufferAccessor(b), cache, v);
        if (b.hasRemaining()) {
            throw new OracleException("size mismatch: size() said " + size + " but write() left "
                    + b.remaining() + " bytes unused");
        }
        return b.array();
    }

    static Message decode(Kind kind, short key, short v, ByteBuffer buf) {
        Message m = newMessage(kind, key);
        m.read(new ByteBufferAccessor(buf), v);
        if (buf.hasRemaining()) {
            throw new OracleException("trailing " + buf.remaining() + " bytes");
        }
        return m;
    }

    static byte[] roundtrip(Kind kind, short key, short v, byte[] in) {
        checkVersion(kind, key, v);
        return encode(decode(kind, key, v, ByteBuffer.wrap(in)), v);
    }

    static byte[] sample(Kind kind, short key, short v, long seed, boolean populated) {
        checkVersion(kind, key, v);
        if (!populated) {
            return encode(newMessage(kind, key), v);
        }
        Schema s = SchemaFix.fix(schema(kind, key, v), newMessage(kind, key).getClass());
        try {
            return populated(kind, key, v, s, new Gen(seed, true));
        } catch (RuntimeException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("non-nullable field") && m.contains("serialized as null")) {
                // 3.x: RECORDS types are nullable in the Schema even for non-nullable records fields.
                return populated(kind, key, v, s, new Gen(seed, false));
            }
            throw e;
        }
    }

    private static byte[] populated(Kind kind, short key, short v, Schema s, Gen gen) {
        Struct st = gen.struct(s, 0);
        int size = s.sizeOf(st);
        ByteBuffer buf = ByteBuffer.allocate(size);
        s.write(buf, st);
        if (buf.hasRemaining()) {
            throw new OracleException("schema size mismatch");
        }
        buf.flip();
        return encode(decode(kind, key, v, buf), v);
    }

    // ------------------------------------------------------------------ catalogues

    static String apis() {
        StringBuilder sb = new StringBuilder(16384);
        sb.append('[');
        boolean first = true;
        for (ApiMessageType t : ApiMessageType.values()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            short lo = t.lowestSupportedVersion();
            short hi = t.highestSupportedVersion(true);
            sb.append("{\"key\":").append(t.apiKey());
            sb.append(",\"name\":");
            Json.str(sb, t.name);
            sb.append(",\"enum\":");
            Json.str(sb, t.name());
            sb.append(",\"lowest\":").append(lo);
            sb.append(",\"highest\":").append(hi);
            sb.append(",\"highest_stable\":").append(t.highestSupportedVersion(false));
            sb.append(",\"latest_version_unstable\":").append(t.latestVersionUnstable());
            sb.append(",\"request_header_versions\":[");
            for (short v = lo; v <= hi; v++) {
                if (v > lo) {
                    sb.append(',');
                }
                sb.append(t.requestHeaderVersion(v));
            }
            sb.append("],\"response_header_versions\":[");
            for (short v = lo; v <= hi; v++) {
                if (v > lo) {
                    sb.append(',');
                }
                sb.append(t.responseHeaderVersion(v));
            }
            sb.append("]}");
        }
        sb.append(']');
        return sb.toString();
    }

    static String errors() {
        StringBuilder sb = new StringBuilder(32768);
        sb.append('[');
        boolean first = true;
        for (Errors e : Errors.values()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            Throwable ex = e.exception();
            sb.append("{\"code\":").append(e.code());
            sb.append(",\"name\":");
            Json.str(sb, e.name());
            sb.append(",\"retriable\":").append(ex instanceof RetriableException);
            sb.append(",\"message\":");
            Json.str(sb, ex == null ? null : ex.getMessage());
            sb.append(",\"exception\":");
            Json.str(sb, ex == null ? null : ex.getClass().getSimpleName());
            sb.append('}');
        }
        sb.append(']');
        return sb.toString();
    }

    // ------------------------------------------------------------------ records

    @SuppressWarnings("unchecked")
    static byte[] recordsBuild(String line) {
        // records-build <magic> <compression> <base_offset> <json records> [<json options>]
        String[] p = line.split("\\s+", 6);
        need(p, 5, "records-build <magic 0|1|2> <none|gzip|snappy|lz4|zstd> <base_offset> <json records> [json options]");
        byte magic;
        try {
            magic = Byte.parseByte(p[1]);
        } catch (NumberFormatException e) {
            throw new OracleException("bad magic '" + p[1] + "'");
        }
        if (magic < 0 || magic > 2) {
            throw new OracleException("bad magic " + magic);
        }
        long base;
        try {
            base = Long.parseLong(p[3]);
        } catch (NumberFormatException e) {
            throw new OracleException("bad base_offset '" + p[3] + "'");
        }
        Object recs = Json.parse(p[4]);
        if (!(recs instanceof List)) {
            throw new OracleException("records must be a JSON array");
        }
        Map<String, Object> opts = null;
        if (p.length > 5) {
            Object o = Json.parse(p[5]);
            if (!(o instanceof Map)) {
                throw new OracleException("options must be a JSON object");
            }
            opts = (Map<String, Object>) o;
        }
        return Recs.build(magic, p[2], base, (List<Object>) recs, opts);
    }

    // ------------------------------------------------------------------ selftest

    static final class SelfTest {
        private SelfTest() {
        }

        @SuppressWarnings("unchecked")
        static String run(int seeds) {
            long t0 = System.nanoTime();
            int proven = 0;
            List<String> failures = new ArrayList<>();
            List<Object[]> pairs = new ArrayList<>();
            for (ApiMessageType t : ApiMessageType.values()) {
                pairs.add(new Object[] {Kind.REQUEST, t.apiKey()});
                pairs.add(new Object[] {Kind.RESPONSE, t.apiKey()});
            }
            pairs.add(new Object[] {Kind.REQUEST_HEADER, (short) -1});
            pairs.add(new Object[] {Kind.RESPONSE_HEADER, (short) -1});
            int checks = 0;
            for (Object[] pair : pairs) {
                Kind kind = (Kind) pair[0];
                short key = (Short) pair[1];
                short[] range = versionRange(kind, key);
                for (short v = range[0]; v <= range[1]; v++) {
                    String where = describePair(kind, key) + " v" + v;
                    String fail = null;
                    for (int s = -1; s < seeds && fail == null; s++) {
                        String step = s < 0 ? "default" : "populated seed " + s;
                        try {
                            byte[] a = sample(kind, key, v, s, s >= 0);
                            byte[] b = roundtrip(kind, key, v, a);
                            checks++;
                            if (!java.util.Arrays.equals(a, b)) {
                                fail = step + ": roundtrip differs: " + Hex.encode(a) + " -> " + Hex.encode(b);
                            } else if (s >= 0) {
                                byte[] again = sample(kind, key, v, s, true);
                                if (!java.util.Arrays.equals(a, again)) {
                                    fail = step + ": sample not deterministic";
                                }
                            }
                        } catch (Throwable e) {
                            fail = step + ": " + describe(e);
                        }
                    }
                    if (fail == null) {
                        proven++;
                    } else {
                        failures.add(where + ": " + fail);
                    }
                }
            }
            // records + murmur2 sanity
            for (String c : new String[] {"none", "gzip", "snappy", "lz4", "zstd"}) {
                for (byte magic = 0; magic <= 2; magic++) {
                    if (magic < 2 && c.equals("zstd")) {
                        continue;
                    }
                    String where = "records magic " + magic + " " + c;
                    try {
                        String recs = "[{\"offset\":10,\"timestamp\":1700000000000,\"key\":\"6b\",\"value\":\"76616c\","
                                + "\"headers\":" + (magic == 2 ? "[[\"h\\u00e9\",\"00\"],[\"n\",null]]" : "[]") + "},"
                                + "{\"offset\":11,\"timestamp\":1700000000001,\"key\":null,\"value\":null,\"headers\":[]}]";
                        byte[] built = Recs.build(magic, c, 10, (List<Object>) Json.parse(recs), null);
                        String json = Recs.read(built);
                        if (!json.contains("\"compression\":\"" + c + "\"") || !json.contains("\"offset\":11")) {
                            failures.add(where + ": unexpected read-back " + json);
                        }
                        checks++;
                    } catch (Throwable e) {
                        failures.add(where + ": " + describe(e));
                    }
                }
            }
            for (String f : failures) {
                System.err.println("selftest FAIL " + f);
            }
            System.err.printf("selftest: kafka-clients %s, %d message/version pairs proven, %d failures, %d checks, %d ms%n",
                    AppInfoParser.getVersion(), proven, failures.size(), checks, (System.nanoTime() - t0) / 1_000_000);
            System.err.flush();
            return "ok " + proven + " " + failures.size();
        }
    }
}
