#!/usr/bin/env python3
"""kafka-python (PyPI kafka-python) fixture client for tools/capture/capture.sh.

  kafka_python_client.py produce  <bootstrap> <topic> <none|gzip|snappy|lz4|zstd> <count> <idempotent:true|false>
  kafka_python_client.py txn      <bootstrap> <topic> <count> <group>
  kafka_python_client.py consume  <bootstrap> <topic> <group> <count>
  kafka_python_client.py admin    <bootstrap> <prefix> <existing-group>
  kafka_python_client.py metadata <bootstrap> <topic>
"""
import logging
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ConfigResource, ConfigResourceType, \
    ResourcePatternFilter, ResourceType, ACLResourcePatternType, OffsetSpec

logging.basicConfig(level=logging.ERROR)
CLIENT_ID = "capture-kafka-python"


def record(i):
    key = None if i % 7 == 0 else f"key-{i % 10}".encode()
    value = (f"value {i} " + "the quick brown fox " * (1 + i % 5)).encode()
    return key, value, [("seq", str(i).encode())]


def produce(bootstrap, topic, codec, count, idem):
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id=CLIENT_ID,
                      compression_type=None if codec == "none" else codec,
                      enable_idempotence=idem == "true", acks="all" if idem == "true" else 1, linger_ms=5)
    futs = []
    for i in range(count):
        k, v, h = record(i)
        futs.append(p.send(topic, value=v, key=k, headers=h))
        if i == count // 2:
            p.flush(30)
    p.flush(30)
    for f in futs:
        f.get(30)
    p.close(10)
    print(f"produced {count} records to {topic} ({codec}, idempotent={idem})")


def txn(bootstrap, topic, count, group):
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id=CLIENT_ID,
                      transactional_id=f"capture-kafka-python-txn-{topic}", linger_ms=5)
    p.init_transactions()
    for n, commit in enumerate([True, False, True]):
        p.begin_transaction()
        for i in range(count):
            k, v, h = record(n * 1000 + i)
            p.send(topic, value=v, key=k, headers=h)
        if n == 2:
            p.send_offsets_to_transaction({TopicPartition(topic, 0): OffsetAndMetadata(count, "txn-meta", -1)}, group)
        p.flush(30)
        if commit:
            p.commit_transaction()
        else:
            p.abort_transaction()
    p.close(10)
    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id=CLIENT_ID, isolation_level="read_committed",
                      auto_offset_reset="earliest", enable_auto_commit=False)
    c.assign([TopicPartition(topic, 0)])
    c.seek_to_beginning()
    got, deadline = 0, time.time() + 30
    while got < 2 * count and time.time() < deadline:
        got += sum(len(v) for v in c.poll(500).values())
    c.close()
    print(f"txn: read back {got} committed records")
    if got != 2 * count:
        sys.exit("read_committed count mismatch")


def consume(bootstrap, topic, group, count):
    c = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id=CLIENT_ID, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=25)
    got, deadline = 0, time.time() + 60
    while got < count and time.time() < deadline:
        n = sum(len(v) for v in c.poll(500).values())
        if n:
            got += n
            c.commit()
    c.close()
    print(f"consumed {got} records from {topic} in group {group}")
    if got < count:
        sys.exit("not enough records")


def show(what, fn, *args, **kw):
    try:
        fn(*args, **kw)
        print(f"{what}: ok")
    except Exception as e:  # noqa: BLE001 - errors are part of the scenario
        print(f"{what}: {type(e).__name__}: {e}")


def admin(bootstrap, prefix, group):
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id=CLIENT_ID)
    t1, t2 = prefix + "-a", prefix + "-b"
    show("create_topics", a.create_topics, {t1: {"num_partitions": 2, "replication_factor": 1,
                                                 "configs": {"retention.ms": "3600000"}},
                                            t2: {}})
    show("create_topics again", a.create_topics, [t1])
    show("list_topics", a.list_topics)
    show("describe_topics", a.describe_topics, [t1, t2])
    show("describe_cluster", a.describe_cluster)
    show("describe_configs", a.describe_configs, [ConfigResource(ConfigResourceType.TOPIC, t1),
                                                  ConfigResource(ConfigResourceType.BROKER, "1")])
    show("alter_configs (incremental)", a.alter_configs,
         [ConfigResource(ConfigResourceType.TOPIC, t1, {"retention.ms": "7200000"})], incremental=True)
    show("alter_configs (legacy)", a.alter_configs,
         [ConfigResource(ConfigResourceType.TOPIC, t2, {"retention.ms": "7200000"})], incremental=False)
    show("create_partitions", a.create_partitions, {t1: 3})
    show("list_partition_offsets", a.list_partition_offsets, {TopicPartition(t1, 0): OffsetSpec.LATEST,
                                                              TopicPartition(t1, 1): OffsetSpec.EARLIEST})
    show("delete_records", a.delete_records, {TopicPartition(t1, 0): 0})
    show("describe_acls", a.describe_acls, ACLFilter(principal=None, host="*", operation=ACLOperation.ANY,
                                                     permission_type=ACLPermissionType.ANY,
                                                     resource_pattern=ResourcePatternFilter(
                                                         ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    show("describe_log_dirs", a.describe_log_dirs)
    show("describe_features", a.describe_features)
    show("list_groups", a.list_groups)
    show("describe_groups", a.describe_groups, [group])
    show("list_group_offsets", a.list_group_offsets, group)
    show("delete_groups", a.delete_groups, [group])
    show("delete_topics", a.delete_topics, [t1, t2])
    show("delete_topics again", a.delete_topics, [t1])
    a.close()


def metadata(bootstrap, topic):
    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id=CLIENT_ID)
    topics = c.topics()
    parts = c.partitions_for_topic(topic)
    c.close()
    print(f"metadata: {len(topics)} topics; {topic}: {len(parts or [])} partitions")


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "produce":
        produce(a[0], a[1], a[2], int(a[3]), a[4])
    elif cmd == "txn":
        txn(a[0], a[1], int(a[2]), a[3])
    elif cmd == "consume":
        consume(a[0], a[1], a[2], int(a[3]))
    elif cmd == "admin":
        admin(a[0], a[1], a[2])
    elif cmd == "metadata":
        metadata(a[0], a[1])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
