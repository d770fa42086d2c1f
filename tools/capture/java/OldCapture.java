// Fixture client for very old Java clients (kafka-clients 0.10.2 and 0.11.0): only API present
// in both (poll(long), no Admin, no Duration). Transactions (0.11+) go through reflection so the
// same source compiles against 0.10.2.
//
//   java OldCapture produce <bootstrap> <topic> <compression> <count> <idempotent:true|false>
//   java OldCapture txn     <bootstrap> <topic> <count>              (0.11+)
//   java OldCapture consume <bootstrap> <topic> <group> <count> <timeout-ms>
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class OldCapture {
  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "produce": produce(a[1], a[2], a[3], Integer.parseInt(a[4]), Boolean.parseBoolean(a[5])); break;
      case "txn": txn(a[1], a[2], Integer.parseInt(a[3])); break;
      case "consume": consume(a[1], a[2], a[3], Integer.parseInt(a[4]), Long.parseLong(a[5])); break;
      default: throw new IllegalArgumentException("unknown command " + a[0]);
    }
  }

  static byte[] b(String s) { return s.getBytes(StandardCharsets.UTF_8); }

  static ProducerRecord<byte[], byte[]> record(String topic, int i) {
    String v = "value " + i + " " + String.join(" ", Collections.nCopies(1 + i % 5, "the quick brown fox"));
    return new ProducerRecord<>(topic, i % 7 == 0 ? null : b("key-" + (i % 10)), b(v));
  }

  static KafkaProducer<byte[], byte[]> producer(Properties p) {
    p.put("key.serializer", ByteArraySerializer.class.getName());
    p.put("value.serializer", ByteArraySerializer.class.getName());
    p.put("linger.ms", "5");
    p.put("max.block.ms", "15000");
    p.put("request.timeout.ms", "10000");
    return new KafkaProducer<>(p);
  }

  static void produce(String bootstrap, String topic, String compression, int count, boolean idem) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", "capture-old-producer");
    p.put("compression.type", compression);
    p.put("acks", idem ? "all" : "1");
    if (idem) p.put("enable.idempotence", "true");
    int ok = 0;
    try (KafkaProducer<byte[], byte[]> pr = producer(p)) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        fs.add(pr.send(record(topic, i)));
        if (i == count / 2) pr.flush();
      }
      for (Future<RecordMetadata> f : fs) {
        try { f.get(); ok++; } catch (Exception e) { System.out.println("send failed: " + e.getCause()); break; }
      }
    }
    System.out.println("produced " + ok + " of " + count + " records to " + topic + " (" + compression + ")");
  }

  static void txn(String bootstrap, String topic, int count) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", "capture-old-txn");
    p.put("transactional.id", "capture-old-txn-" + topic);
    try (KafkaProducer<byte[], byte[]> pr = producer(p)) {
      call(pr, "initTransactions");
      for (int n = 0; n < 2; n++) {
        call(pr, "beginTransaction");
        for (int i = 0; i < count; i++) pr.send(record(topic, n * 1000 + i));
        pr.flush();
        call(pr, n == 0 ? "commitTransaction" : "abortTransaction");
      }
    }
    System.out.println("txn: one committed and one aborted transaction of " + count + " records");
  }

  static void call(Object o, String m) throws Exception { o.getClass().getMethod(m).invoke(o); }

  static void consume(String bootstrap, String topic, String group, int count, long timeoutMs) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("client.id", "capture-old-consumer");
    p.put("group.id", group);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    p.put("request.timeout.ms", "12000");
    p.put("session.timeout.ms", "10000");
    p.put("heartbeat.interval.ms", "3000");
    int got = 0;
    try (KafkaConsumer<byte[], byte[]> co = new KafkaConsumer<>(p)) {
      co.subscribe(Collections.singletonList(topic));
      long deadline = System.currentTimeMillis() + timeoutMs;
      while (got < count && System.currentTimeMillis() < deadline) {
        int n = co.poll(500).count();
        if (n > 0) { got += n; co.commitSync(); }
      }
    } catch (Exception e) {
      System.out.println("consumer failed: " + e);
    }
    System.out.println("consumed " + got + " records from " + topic + " in group " + group);
  }
}
