package kafkars.oracle;

import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.types.ArrayOf;
import org.apache.kafka.common.protocol.types.BoundField;
import org.apache.kafka.common.protocol.types.CompactArrayOf;
import org.apache.kafka.common.protocol.types.Field;
import org.apache.kafka.common.protocol.types.Schema;
import org.apache.kafka.common.protocol.types.TaggedFields;
import org.apache.kafka.common.protocol.types.Type;

/**
 * Works around Schema objects that do not describe the wire format of their Data class.
 *
 * kafka-clients before 4.0 has no NullableSchema: a nullable struct field (e.g. ConsumerGroupHeartbeatResponse
 * v0 "assignment", DescribeTopicPartitions "cursor") is described by a plain Schema although the Data class writes
 * an int8 presence marker (-1 = null, 1 = present) before it. Where NullableSchema is missing we rebuild the schema
 * tree, wrapping every struct field whose Data-class default is null (the generator's rule for nullable structs) in
 * {@link NullableStruct}. On 4.x the schemas are returned unchanged.
 */
final class SchemaFix {
    static final boolean HAS_NULLABLE_SCHEMA;

    static {
        boolean has;
        try {
            Class.forName("org.apache.kafka.common.protocol.types.NullableSchema");
            has = true;
        } catch (ClassNotFoundException e) {
            has = false;
        }
        HAS_NULLABLE_SCHEMA = has;
    }

    private static final Map<Schema, Schema> CACHE = new ConcurrentHashMap<>();

    private SchemaFix() {
    }

    /** A nullable struct: int8 marker (-1 null, 1 present) then the struct. Same encoding as 4.x NullableSchema. */
    static final class NullableStruct extends Type {
        final Schema inner;

        NullableStruct(Schema inner) {
            this.inner = inner;
        }

        @Override
        public boolean isNullable() {
            return true;
        }

        @Override
        public void write(ByteBuffer buffer, Object o) {
            if (o == null) {
                buffer.put((byte) -1);
            } else {
                buffer.put((byte) 1);
                inner.write(buffer, o);
            }
        }

        @Override
        public Object read(ByteBuffer buffer) {
            return buffer.get() < 0 ? null : inner.read(buffer);
        }

        @Override
        public Object validate(Object o) {
            return o == null ? null : inner.validate(o);
        }

        @Override
        public int sizeOf(Object o) {
            return o == null ? 1 : 1 + inner.sizeOf(o);
        }

        @Override
        public String toString() {
            return "NULLABLE_STRUCT(" + inner + ")";
        }
    }

    /** Returns a schema that matches what {@code dataClass} reads/writes. */
    static Schema fix(Schema s, Class<?> dataClass) {
        if (HAS_NULLABLE_SCHEMA) {
            return s;
        }
        return CACHE.computeIfAbsent(s, k -> fixSchema(k, dataClass));
    }

    private static String norm(String n) {
        return n.replace("_", "").toLowerCase(java.util.Locale.ROOT);
    }

    private static java.lang.reflect.Field javaField(Class<?> cls, String schemaName) {
        if (cls == null) {
            return null;
        }
        String want = norm(schemaName);
        for (java.lang.reflect.Field f : cls.getDeclaredFields()) {
            if (!Modifier.isStatic(f.getModifiers()) && norm(f.getName()).equals(want)) {
                return f;
            }
        }
        return null;
    }

    private static Object defaultOf(Class<?> cls, java.lang.reflect.Field f) {
        try {
            Object inst = cls.getDeclaredConstructor().newInstance();
            f.setAccessible(true);
            return f.get(inst);
        } catch (ReflectiveOperationException e) {
            return "unknown";
        }
    }

    private static Class<?> elementClass(java.lang.reflect.Field f) {
        if (f == null) {
            return null;
        }
        java.lang.reflect.Type g = f.getGenericType();
        if (g instanceof ParameterizedType) {
            java.lang.reflect.Type a = ((ParameterizedType) g).getActualTypeArguments()[0];
            return a instanceof Class ? (Class<?>) a : null;
        }
        // e.g. FooCollection extends ImplicitLinkedHashMultiCollection<Foo>
        java.lang.reflect.Type sup = f.getType().getGenericSuperclass();
        if (sup instanceof ParameterizedType) {
            java.lang.reflect.Type a = ((ParameterizedType) sup).getActualTypeArguments()[0];
            return a instanceof Class ? (Class<?>) a : null;
        }
        return null;
    }

    private static Schema fixSchema(Schema s, Class<?> cls) {
        BoundField[] bfs = s.fields();
        Field[] out = new Field[bfs.length];
        boolean changed = false;
        for (int i = 0; i < bfs.length; i++) {
            Field def = bfs[i].def;
            Type nt = fixType(def.type, cls, def.name);
            if (nt != def.type) {
                changed = true;
                out[i] = new Field(def.name, nt, def.docString, def.hasDefaultValue, def.defaultValue);
            } else {
                out[i] = def;
            }
        }
        return changed ? new Schema(out) : s;
    }

    private static Type fixType(Type t, Class<?> cls, String name) {
        if (t instanceof Schema) {
            java.lang.reflect.Field jf = javaField(cls, name);
            if (jf == null || !Message.class.isAssignableFrom(jf.getType())) {
                return t;
            }
            Schema inner = fixSchema((Schema) t, jf.getType());
            if (!t.isNullable() && defaultOf(cls, jf) == null) {
                return new NullableStruct(inner);
            }
            return inner;
        }
        if (t instanceof TaggedFields) {
            Map<Integer, Field> fields = Gen.taggedFields((TaggedFields) t);
            TreeMap<Integer, Field> nf = new TreeMap<>();
            boolean changed = false;
            for (Map.Entry<Integer, Field> e : fields.entrySet()) {
                Field def = e.getValue();
                Type nt = fixType(def.type, cls, def.name);
                if (nt != def.type) {
                    changed = true;
                    nf.put(e.getKey(), new Field(def.name, nt, def.docString, def.hasDefaultValue, def.defaultValue));
                } else {
                    nf.put(e.getKey(), def);
                }
            }
            return changed ? new TaggedFields(nf) : t;
        }
        Optional<Type> elem = t.arrayElementType();
        if (elem.isPresent() && elem.get() instanceof Schema) {
            Class<?> ec = elementClass(javaField(cls, name));
            if (ec == null || !Message.class.isAssignableFrom(ec)) {
                return t;
            }
            Schema fixedElem = fixSchema((Schema) elem.get(), ec);
            if (fixedElem == elem.get()) {
                return t;
            }
            if (t instanceof CompactArrayOf) {
                return t.isNullable() ? CompactArrayOf.nullable(fixedElem) : new CompactArrayOf(fixedElem);
            }
            if (t instanceof ArrayOf) {
                return t.isNullable() ? ArrayOf.nullable(fixedElem) : new ArrayOf(fixedElem);
            }
        }
        return t;
    }
}
