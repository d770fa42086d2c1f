#!/usr/bin/env python3
"""librdkafka (PyPI confluent-kafka) fixture client for tools/capture/capture.sh.

  rdkafka_client.py produce  <bootstrap> <topic> <none|gzip|snappy|lz4|zstd> <count> <idempotent:true|false>
  rdkafka_client.py txn      <bootstrap> <topic> <count> <group>
  rdkafka_client.py consume  <bootstrap> <topic> <group> <classic|consumer> <count>
  rdkafka_client.py admin    <bootstrap> <prefix> <existing-group>
  rdkafka_client.py metadata <bootstrap> <topic>

Environment: CAPTURE_RDKAFKA_CONF='{"security.protocol": "SASL_PLAINTEXT", ...}' adds settings.
"""
import json
import os
import sys
import time

from confluent_kafka import (Consumer, KafkaException, Producer, TopicPartition,
                             ConsumerGroupTopicPartitions, IsolationLevel)
from confluent_kafka.admin import (AdminClient, NewTopic, NewPartitions, ConfigResource, ConfigEntry,
                                   AlterConfigOpType, ResourceType, AclBindingFilter, ResourcePatternType,
                                   AclOperation, AclPermissionType, OffsetSpec)

COMMON = {"client.id": "capture-rdkafka", "log_level": 3}
# CAPTURE_RDKAFKA_CONF: extra librdkafka settings as a JSON object (SASL, for instance).
COMMON.update(json.loads(os.environ.get("CAPTURE_RDKAFKA_CONF") or "{}"))


def record(i):
    key = None if i % 7 == 0 else f"key-{i % 10}".encode()
    value = (f"value {i} " + "the quick brown fox " * (1 + i % 5)).encode()
    return key, value, [("seq", str(i).encode())]


def produce(bootstrap, topic, codec, count, idem):
    conf = dict(COMMON, **{"bootstrap.servers": bootstrap, "compression.type": codec,
                           "enable.idempotence": idem == "true", "linger.ms": 5})
    if idem != "true":
        conf["acks"] = 1
    p = Producer(conf)
    errors = []

    def cb(err, _msg):
        if err:
            errors.append(err)
    for i in range(count):
        k, v, h = record(i)
        p.produce(topic, value=v, key=k, headers=h, on_delivery=cb)
        if i == count // 2:
            p.flush(30)
    if p.flush(30) or errors:
        sys.exit(f"produce failed: {errors}")
    print(f"produced {count} records to {topic} ({codec}, idempotent={idem})")


def txn(bootstrap, topic, count, group):
    p = Producer(dict(COMMON, **{"bootstrap.servers": bootstrap, "transactional.id": f"capture-rdkafka-txn-{topic}",
                                 "linger.ms": 5}))
    p.init_transactions(30)
    for n, commit in enumerate([True, False, True]):
        p.begin_transaction()
        for i in range(count):
            k, v, h = record(n * 1000 + i)
            p.produce(topic, value=v, key=k, headers=h)
        if n == 2:
            # consumer offsets in the transaction: AddOffsetsToTxn + TxnOffsetCommit
            c = Consumer(dict(COMMON, **{"bootstrap.servers": bootstrap, "group.id": group}))
            p.send_offsets_to_transaction([TopicPartition(topic, 0, count)], c.consumer_group_metadata(), 30)
            c.close()
        if commit:
            p.commit_transaction(30)
        else:
            p.flush(30)
            p.abort_transaction(30)
    c = Consumer(dict(COMMON, **{"bootstrap.servers": bootstrap, "group.id": group + "-reader",
                                 "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                                 "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, 0)])
    got, deadline = 0, time.time() + 30
    while got < 2 * count and time.time() < deadline:
        msgs = c.consume(100, 0.5)
        got += sum(1 for m in msgs if not m.error())
    c.close()
    print(f"txn: read back {got} committed records")
    if got != 2 * count:
        sys.exit("read_committed count mismatch")


def consume(bootstrap, topic, group, protocol, count):
    conf = dict(COMMON, **{"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                           "enable.auto.commit": False})
    if protocol == "consumer":
        conf["group.protocol"] = "consumer"
    c = Consumer(conf)
    c.subscribe([topic])
    got, deadline = 0, time.time() + 60
    while got < count and time.time() < deadline:
        msgs = c.consume(25, 0.5)
        ok = [m for m in msgs if not m.error()]
        got += len(ok)
        if ok:
            c.commit(asynchronous=False)
    c.close()
    print(f"consumed {got} records from {topic} in group {group} ({protocol})")
    if got < count:
        sys.exit("not enough records")


def show(what, fut):
    try:
        fut.result(timeout=30)
        print(f"{what}: ok")
    except Exception as e:  # noqa: BLE001 - errors are part of the scenario
        print(f"{what}: {e}")


def show_all(what, futs):
    for k, f in futs.items():
        show(f"{what} {k}", f)


def admin(bootstrap, prefix, group):
    a = AdminClient(dict(COMMON, **{"bootstrap.servers": bootstrap}))
    t1, t2 = prefix + "-a", prefix + "-b"
    show_all("create_topics", a.create_topics([NewTopic(t1, 2, 1, config={"retention.ms": "3600000"}),
                                               NewTopic(t2, 1, 1)]))
    show_all("create_topics again", a.create_topics([NewTopic(t1, 1, 1)]))
    print("list_topics:", len(a.list_topics(timeout=10).topics))
    show("describe_cluster", a.describe_cluster())
    from confluent_kafka import TopicCollection
    show_all("describe_topics", a.describe_topics(TopicCollection([t1, t2])))
    tr = ConfigResource(ResourceType.TOPIC, t1)
    br = ConfigResource(ResourceType.BROKER, "1")
    show_all("describe_configs", a.describe_configs([tr, br]))
    show_all("incremental_alter_configs", a.incremental_alter_configs([ConfigResource(
        ResourceType.TOPIC, t1, incremental_configs=[
            ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("cleanup.policy", None, incremental_operation=AlterConfigOpType.DELETE)])]))
    show_all("alter_configs (legacy)", a.alter_configs([ConfigResource(ResourceType.TOPIC, t2,
                                                                       set_config={"retention.ms": "7200000"})]))
    show_all("create_partitions", a.create_partitions([NewPartitions(t1, 3)]))
    show_all("list_offsets", a.list_offsets({TopicPartition(t1, 0): OffsetSpec.latest(),
                                             TopicPartition(t1, 1): OffsetSpec.earliest()}))
    show_all("delete_records", a.delete_records([TopicPartition(t1, 0, 0)]))
    show("describe_acls", a.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None,
                                                           None, AclOperation.ANY, AclPermissionType.ANY)))
    show("describe_user_scram_credentials", a.describe_user_scram_credentials())
    show("list_consumer_groups", a.list_consumer_groups())
    show_all("describe_consumer_groups", a.describe_consumer_groups([group]))
    show_all("list_consumer_group_offsets", a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)]))
    show_all("delete_consumer_groups", a.delete_consumer_groups([group]))
    show_all("delete_topics", a.delete_topics([t1, t2]))
    show_all("delete_topics again", a.delete_topics([t1]))


def metadata(bootstrap, topic):
    a = AdminClient(dict(COMMON, **{"bootstrap.servers": bootstrap}))
    md = a.list_topics(timeout=10)
    md2 = a.list_topics(topic, timeout=10)
    print(f"metadata: cluster {md.cluster_id}, {len(md.brokers)} brokers, {len(md.topics)} topics; {topic}: "
          f"{len(md2.topics[topic].partitions)} partitions")


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "produce":
        produce(a[0], a[1], a[2], int(a[3]), a[4])
    elif cmd == "txn":
        txn(a[0], a[1], int(a[2]), a[3])
    elif cmd == "consume":
        consume(a[0], a[1], a[2], a[3], int(a[4]))
    elif cmd == "admin":
        admin(a[0], a[1], a[2])
    elif cmd == "metadata":
        metadata(a[0], a[1])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
