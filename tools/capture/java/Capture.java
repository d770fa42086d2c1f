// A tiny Kafka client program used to record protocol fixtures (tools/capture/capture.sh).
// The same source compiles against kafka-clients 4.3.1 (the broker's classpath) and 2.8.2 (an old
// client): it only uses API present in both. Newer-only calls live in Extras43.java, which is
// compiled only against 4.3.1 and reached through reflection.
//
//   java Capture produce  <bootstrap> <topic> <compression> <count> <idempotent:true|false> [acks]
//   java Capture txn      <bootstrap> <topic> <count> <group>
//   java Capture consume  <bootstrap> <topic> <group> <classic|consumer|-> <count>
//   java Capture admin    <bootstrap> <prefix> <existing-group>
//   java Capture extras   <bootstrap> <prefix> ...          (4.3 only: see Extras43)
//
// Environment: CAPTURE_CLIENT_CONFIG=<properties file> adds client settings (SASL, for instance).
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class Capture {
  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "produce": produce(a[1], a[2], a[3], Integer.parseInt(a[4]), Boolean.parseBoolean(a[5]), a.length > 6 ? a[6] : "all"); break;
      case "txn": txn(a[1], a[2], Integer.parseInt(a[3]), a[4]); break;
      case "consume": consume(a[1], a[2], a[3], a[4], Integer.parseInt(a[5])); break;
      case "admin": admin(a[1], a[2], a[3]); break;
      case "extras": {
        Class<?> c = Class.forName("Extras43");
        c.getMethod("main", String[].class).invoke(null, (Object) Arrays.copyOfRange(a, 1, a.length));
        break;
      }
      default: throw new IllegalArgumentException("unknown command " + a[0]);
    }
  }

  /** Client properties; CAPTURE_CLIENT_CONFIG names an optional properties file (e.g. SASL settings). */
  static Properties base(String bootstrap, String clientId) {
    Properties p = new Properties();
    String extra = System.getenv("CAPTURE_CLIENT_CONFIG");
    if (extra != null && !extra.isEmpty()) {
      try (java.io.FileInputStream in = new java.io.FileInputStream(extra)) {
        p.load(in);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", clientId);
    return p;
  }

  static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

  static ProducerRecord<byte[], byte[]> record(String topic, int i) {
    RecordHeaders h = new RecordHeaders();
    h.add(new RecordHeader("seq", b(Integer.toString(i))));
    if (i % 3 == 0) h.add(new RecordHeader("kind", b("third")));
    // Text values that compress (repeated words) and a null key every 7th record.
    String v = "value " + i + " " + String.join(" ", Collections.nCopies(1 + i % 5, "the quick brown fox"));
    byte[] key = i % 7 == 0 ? null : b("key-" + (i % 10));
    return new ProducerRecord<>(topic, null, null, key, b(v), h);
  }

  static KafkaProducer<byte[], byte[]> producer(Properties p) {
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    p.put("linger.ms", "5");
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<byte[], byte[]> consumer(Properties p) {
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    return new KafkaConsumer<>(p);
  }

  static void produce(String bootstrap, String topic, String compression, int count, boolean idem, String acks) throws Exception {
    Properties p = base(bootstrap, "capture-producer-" + compression);
    p.put("compression.type", compression);
    p.put("enable.idempotence", Boolean.toString(idem));
    p.put("acks", idem ? "all" : acks);
    try (KafkaProducer<byte[], byte[]> pr = producer(p)) {
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        fs.add(pr.send(record(topic, i)));
        if (i == count / 2) pr.flush(); // at least two batches
      }
      for (java.util.concurrent.Future<RecordMetadata> f : fs) f.get();
    }
    System.out.println("produced " + count + " records to " + topic + " (" + compression + ", idempotent=" + idem + ")");
  }

  static void txn(String bootstrap, String topic, int count, String group) throws Exception {
    Properties p = base(bootstrap, "capture-txn");
    p.put("transactional.id", "capture-txn-" + topic);
    p.put("compression.type", "none");
    try (KafkaProducer<byte[], byte[]> pr = producer(p)) {
      pr.initTransactions();
      // 1: committed
      pr.beginTransaction();
      for (int i = 0; i < count; i++) pr.send(record(topic, i));
      pr.commitTransaction();
      // 2: aborted
      pr.beginTransaction();
      for (int i = 0; i < count; i++) pr.send(record(topic, 1000 + i));
      pr.flush();
      pr.abortTransaction();
      // 3: committed with consumer offsets (AddOffsetsToTxn + TxnOffsetCommit)
      pr.beginTransaction();
      for (int i = 0; i < count / 2; i++) pr.send(record(topic, 2000 + i));
      Map<TopicPartition, OffsetAndMetadata> offs = new HashMap<>();
      offs.put(new TopicPartition(topic, 0), new OffsetAndMetadata(count, "txn-meta"));
      pr.sendOffsetsToTransaction(offs, new ConsumerGroupMetadata(group));
      pr.commitTransaction();
    }
    // Read back with read_committed: the Fetch responses carry aborted transactions and control batches.
    Properties c = base(bootstrap, "capture-txn-reader");
    c.put("isolation.level", "read_committed");
    c.put("auto.offset.reset", "earliest");
    c.put("enable.auto.commit", "false");
    int want = count + count / 2, got = 0;
    try (KafkaConsumer<byte[], byte[]> co = consumer(c)) {
      co.assign(Collections.singletonList(new TopicPartition(topic, 0)));
      long deadline = System.currentTimeMillis() + 30000;
      while (got < want && System.currentTimeMillis() < deadline) got += co.poll(Duration.ofMillis(500)).count();
    }
    System.out.println("txn: committed " + want + ", read back " + got + " with read_committed");
    if (got != want) throw new IllegalStateException("read_committed read " + got + " records, expected " + want);
  }

  static void consume(String bootstrap, String topic, String group, String protocol, int count) throws Exception {
    Properties p = base(bootstrap, "capture-consumer");
    p.put("group.id", group);
    if (!protocol.equals("-")) p.put("group.protocol", protocol);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("max.poll.records", "25");
    int got = 0;
    try (KafkaConsumer<byte[], byte[]> co = consumer(p)) {
      co.subscribe(Collections.singletonList(topic));
      long deadline = System.currentTimeMillis() + 60000;
      while (got < count && System.currentTimeMillis() < deadline) {
        int n = co.poll(Duration.ofMillis(500)).count();
        if (n > 0) { got += n; co.commitSync(); }
      }
    }
    System.out.println("consumed " + got + " records from " + topic + " in group " + group);
    if (got < count) throw new IllegalStateException("consumed only " + got + " of " + count);
  }

  /** Calls the first of the named no-argument methods that exists (API renamed between 2.8 and 4.x). */
  static Object call(Object o, String... names) throws Exception {
    for (String n : names) {
      try {
        Method m = o.getClass().getMethod(n);
        m.setAccessible(true);
        return m.invoke(o);
      } catch (NoSuchMethodException e) { /* next */ }
    }
    throw new NoSuchMethodException(Arrays.toString(names) + " on " + o.getClass());
  }

  static void quiet(String what, KafkaFuture<?> f) {
    try {
      Object r = f.get();
      System.out.println(what + ": ok");
    } catch (InterruptedException | ExecutionException e) {
      System.out.println(what + ": " + e.getCause());
    }
  }

  static void admin(String bootstrap, String prefix, String group) throws Exception {
    Properties p = base(bootstrap, "capture-admin");
    try (Admin ad = Admin.create(p)) {
      String t1 = prefix + "-a", t2 = prefix + "-b";
      Map<String, String> cfg = new HashMap<>();
      cfg.put("retention.ms", "3600000");
      cfg.put("cleanup.policy", "delete");
      quiet("createTopics", ad.createTopics(Arrays.asList(
          new NewTopic(t1, 2, (short) 1).configs(cfg),
          new NewTopic(t2, Optional.empty(), Optional.empty()))).all());
      quiet("createTopics (already exists)", ad.createTopics(Collections.singletonList(new NewTopic(t1, 1, (short) 1))).all());
      quiet("listTopics", ad.listTopics(new ListTopicsOptions().listInternal(true)).names());
      quiet("describeTopics", (KafkaFuture<?>) call(ad.describeTopics(Arrays.asList(t1, t2)), "allTopicNames", "all"));
      quiet("describeCluster", ad.describeCluster().nodes());
      ConfigResource tr = new ConfigResource(ConfigResource.Type.TOPIC, t1);
      ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, "1");
      quiet("describeConfigs", ad.describeConfigs(Arrays.asList(tr, br)).all());
      Map<ConfigResource, Collection<AlterConfigOp>> ops = new HashMap<>();
      ops.put(tr, Arrays.asList(
          new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE),
          new AlterConfigOp(new ConfigEntry("max.message.bytes", "1000000"), AlterConfigOp.OpType.SET)));
      quiet("incrementalAlterConfigs", ad.incrementalAlterConfigs(ops).all());
      quiet("describeConfigs after alter", ad.describeConfigs(Collections.singletonList(tr)).all());
      quiet("createPartitions", ad.createPartitions(Collections.singletonMap(t1, NewPartitions.increaseTo(3))).all());
      Map<TopicPartition, OffsetSpec> lo = new HashMap<>();
      lo.put(new TopicPartition(t1, 0), OffsetSpec.latest());
      lo.put(new TopicPartition(t1, 1), OffsetSpec.earliest());
      lo.put(new TopicPartition(t1, 2), OffsetSpec.forTimestamp(0));
      quiet("listOffsets", ad.listOffsets(lo).all());
      quiet("deleteRecords", ad.deleteRecords(Collections.singletonMap(new TopicPartition(t1, 0), RecordsToDelete.beforeOffset(0))).all());
      quiet("describeLogDirs", (KafkaFuture<?>) call(ad.describeLogDirs(Collections.singletonList(1)), "allDescriptions", "all"));
      quiet("describeAcls", ad.describeAcls(AclBindingFilter.ANY).values());
      quiet("describeFeatures", ad.describeFeatures().featureMetadata());
      quiet("describeClientQuotas", ad.describeClientQuotas(ClientQuotaFilter.all()).entities());
      quiet("describeUserScramCredentials", ad.describeUserScramCredentials().all());
      quiet("electLeaders", ad.electLeaders(ElectionType.PREFERRED, Collections.singleton(new TopicPartition(t1, 0))).all());
      quiet("listPartitionReassignments", ad.listPartitionReassignments().reassignments());
      // groups
      quiet("listConsumerGroups", ad.listConsumerGroups().all());
      quiet("describeConsumerGroups", ad.describeConsumerGroups(Collections.singletonList(group)).all());
      quiet("listConsumerGroupOffsets", ad.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
      quiet("deleteConsumerGroups", ad.deleteConsumerGroups(Collections.singletonList(group)).all());
      quiet("deleteConsumerGroups (gone)", ad.deleteConsumerGroups(Collections.singletonList(group)).all());
      quiet("deleteTopics", ad.deleteTopics(Arrays.asList(t1, t2)).all());
      quiet("deleteTopics (gone)", ad.deleteTopics(Collections.singletonList(t1)).all());
    }
  }
}
