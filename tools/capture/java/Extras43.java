// kafka-clients 4.3-only parts of the fixture client (compiled only against the broker's classpath).
//
//   java Capture extras admin <bootstrap> <topic> <transactional-id> <consumer-protocol-group> <classic-group>
//   java Capture extras share <bootstrap> <topic> <share-group> <count>
import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class Extras43 {
  public static void main(String[] a) throws Exception {
    switch (a[0]) {
      case "admin": admin(a[1], a[2], a[3], a[4], a[5]); break;
      case "share": share(a[1], a[2], a[3], Integer.parseInt(a[4])); break;
      default: throw new IllegalArgumentException("unknown extras command " + a[0]);
    }
  }

  static void admin(String bootstrap, String topic, String txnId, String consumerGroup, String classicGroup) throws Exception {
    Properties p = Capture.base(bootstrap, "capture-admin-43");
    try (Admin ad = Admin.create(p)) {
      Capture.quiet("describeTopics", ad.describeTopics(Collections.singletonList(topic)).allTopicNames());
      Capture.quiet("describeProducers", ad.describeProducers(Collections.singletonList(new TopicPartition(topic, 0))).all());
      Capture.quiet("listTransactions", ad.listTransactions().all());
      Capture.quiet("describeTransactions", ad.describeTransactions(Collections.singletonList(txnId)).all());
      Capture.quiet("describeMetadataQuorum", ad.describeMetadataQuorum().quorumInfo());
      Capture.quiet("listGroups", ad.listGroups().all());
      Capture.quiet("describeConsumerGroups (consumer protocol)", ad.describeConsumerGroups(Collections.singletonList(consumerGroup)).all());
      Capture.quiet("describeClassicGroups", ad.describeClassicGroups(Collections.singletonList(classicGroup)).all());
      Capture.quiet("listConfigResources", ad.listConfigResources().all());
      Capture.quiet("fenceProducers", ad.fenceProducers(Collections.singletonList(txnId)).all());
      Capture.quiet("describeTransactions after fence", ad.describeTransactions(Collections.singletonList(txnId)).all());
    }
  }

  static void share(String bootstrap, String topic, String group, int count) throws Exception {
    Properties p = Capture.base(bootstrap, "capture-share-consumer");
    p.put("group.id", group);
    p.put("share.acknowledgement.mode", "explicit");
    p.put("key.deserializer", ByteArrayDeserializer.class.getName());
    p.put("value.deserializer", ByteArrayDeserializer.class.getName());
    int got = 0;
    try (Admin ad = Admin.create(Capture.base(bootstrap, "capture-share-admin"))) {
      // Share groups start at the latest offset by default: make this one read from the start.
      Map<org.apache.kafka.common.config.ConfigResource, Collection<AlterConfigOp>> ops = new HashMap<>();
      ops.put(new org.apache.kafka.common.config.ConfigResource(org.apache.kafka.common.config.ConfigResource.Type.GROUP, group),
          Collections.singletonList(new AlterConfigOp(new org.apache.kafka.clients.admin.ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET)));
      ad.incrementalAlterConfigs(ops).all().get();
      try (KafkaShareConsumer<byte[], byte[]> c = new KafkaShareConsumer<>(p)) {
        c.subscribe(Collections.singletonList(topic));
        long deadline = System.currentTimeMillis() + 60000;
        while (got < count && System.currentTimeMillis() < deadline) {
          ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(500));
          int i = 0;
          for (ConsumerRecord<byte[], byte[]> r : rs) {
            // accept most, release one in ten (redelivered), reject one in twenty
            AcknowledgeType t = (i % 20 == 19) ? AcknowledgeType.REJECT : (i % 10 == 9 && got < count / 2) ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
            c.acknowledge(r, t);
            if (t != AcknowledgeType.RELEASE) got++;
            i++;
          }
          if (rs.count() > 0) c.commitSync();
        }
      }
      Capture.quiet("describeShareGroups", ad.describeShareGroups(Collections.singletonList(group)).all());
      Capture.quiet("listShareGroupOffsets", ad.listShareGroupOffsets(Collections.singletonMap(group, new ListShareGroupOffsetsSpec())).all());
      Capture.quiet("deleteShareGroups", ad.deleteShareGroups(Collections.singletonList(group)).all());
    }
    System.out.println("share-consumed " + got + " records from " + topic + " in share group " + group);
  }
}
