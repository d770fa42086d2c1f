#!/usr/bin/env bash
# tools/capture/capture.sh — regenerate the protocol fixtures in fixtures/captures/*.pcapng and
# fixtures/manifest.json: real clients talking to the real Apache Kafka 4.3.1 broker, recorded with
# tcpdump on the loopback interface.
#
#   tools/capture/capture.sh                 every capture (25-35 minutes, more on a loaded machine)
#   tools/capture/capture.sh NAME...         only these captures (e.g. kcat-metadata); other manifest entries stay
#   tools/capture/capture.sh --list          the capture names
#   tools/capture/capture.sh --install       first install the pinned clients (pip, apt kcat), then capture
#
# The broker is started with scripts/kafka on its own ports (KAFKA_PORT_OFFSET, default 100 here:
# client port 9192, controller 9193, run dir .cache/kafka-run-100) so the default broker on 9092, which
# other tests use, is neither disturbed nor captured. It is stopped at the end (also on failure).
#
# Needs: root (tcpdump), tcpdump, editcap (Debian wireshark-common, for pcap -> pcapng), Java 17 + Maven,
# Go, Python 3 with confluent-kafka / kafka-python (+ python-snappy, lz4, zstandard), kcat.
# Knobs: CAPTURE_PORT_OFFSET (100), CAPTURE_OUT (fixtures/), CAPTURE_KEEP_BROKER=1 (leave it running).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
OFFSET=${CAPTURE_PORT_OFFSET:-100}
PORT=$((9092 + OFFSET))
BOOT=127.0.0.1:$PORT
OUT=${CAPTURE_OUT:-$ROOT/fixtures}
CAPS=$OUT/captures
WORK=$ROOT/.cache/capture
META=$WORK/meta
KAFKA="$ROOT/scripts/kafka"
BROKER_VERSION=4.3.1

# Pinned client versions (the manifest records what actually ran).
CONFLUENT_KAFKA_VERSION=2.16.1
KAFKA_PYTHON_VERSION=3.0.12
OLD_JAVA_VERSION=2.8.2
# Very old Java clients: 0.11.0.3 still works against a 4.x broker (its versions survived KIP-896);
# 0.10.2.2 sends Produce v2 / Fetch v3, which a 4.x broker rejects by closing the connection.
ANCIENT_JAVA_VERSIONS=(0.11.0.3 0.10.2.2)
# SASL_PLAINTEXT listener of `scripts/kafka up --security` (user alice / alice-secret)
SASL_PORT=$((9095 + OFFSET))
SASL_BOOT=127.0.0.1:$SASL_PORT
CPORT=$PORT   # the port the current capture records

say() { printf 'capture: %s\n' "$*" >&2; }
die() { printf 'capture: error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ clients
J43_CP="$WORK/classes-4.3.1:$ROOT/.cache/kafka-$BROKER_VERSION/libs/*"
J28_CP="$WORK/classes-$OLD_JAVA_VERSION:$WORK/kafka-clients-$OLD_JAVA_VERSION/*"
LOG4J="-Dlog4j2.configurationFile=$HERE/java/log4j2.properties"
j43() { java $LOG4J -cp "$J43_CP" "$@"; }                       # Java client 4.3.1 (broker classpath)
j43tool() { java $LOG4J -cp "$ROOT/.cache/kafka-$BROKER_VERSION/libs/*" "$@"; }
j28() { java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$J28_CP" "$@"; }
jold() { # version class args...: kafka-clients 0.11.0.3 / 0.10.2.2
  local v=$1; shift
  java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$WORK/classes-$v:$WORK/kafka-clients-$v/*" "$@"
}
rdk() { python3 "$HERE/rdkafka_client.py" "$@"; }
kpy() { python3 "$HERE/kafka_python_client.py" "$@"; }
franz() { "$WORK/franz" "$@"; }

install_clients() {
  pip install -q "confluent-kafka==$CONFLUENT_KAFKA_VERSION" "kafka-python==$KAFKA_PYTHON_VERSION" \
    python-snappy lz4 zstandard
  if ! command -v kcat >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat
  fi
}

prepare() {
  local t
  for t in tcpdump editcap java javac mvn go python3 kcat; do
    command -v "$t" >/dev/null || die "$t not found (see the header of $0; --install installs the Python clients and kcat)"
  done
  python3 -c 'import confluent_kafka, kafka, snappy, lz4, zstandard' 2>/dev/null \
    || die "Python clients missing: run $0 --install (pip: confluent-kafka kafka-python python-snappy lz4 zstandard)"
  mkdir -p "$WORK" "$META" "$CAPS"
  "$KAFKA" fetch
  # the old Java clients, once
  local v
  for v in "$OLD_JAVA_VERSION" "${ANCIENT_JAVA_VERSIONS[@]}"; do
    if [[ ! -f $WORK/kafka-clients-$v/kafka-clients-$v.jar ]]; then
      say "fetching kafka-clients $v from Maven Central"
      mvn -B -q -f "$HERE/java/pom-$v.xml" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$WORK/kafka-clients-$v" >&2
    fi
  done
  say "compiling the Java fixture client against kafka-clients $BROKER_VERSION and $OLD_JAVA_VERSION"
  rm -rf "$WORK/classes-4.3.1" "$WORK/classes-$OLD_JAVA_VERSION"
  mkdir -p "$WORK/classes-4.3.1" "$WORK/classes-$OLD_JAVA_VERSION"
  javac -nowarn -Xlint:none -d "$WORK/classes-4.3.1" -cp "$ROOT/.cache/kafka-$BROKER_VERSION/libs/*" \
    "$HERE/java/Capture.java" "$HERE/java/Extras43.java" 2>&1 | grep -v '^Note:' >&2 || true
  javac -nowarn -Xlint:none -d "$WORK/classes-$OLD_JAVA_VERSION" -cp "$WORK/kafka-clients-$OLD_JAVA_VERSION/*" \
    "$HERE/java/Capture.java" 2>&1 | grep -v '^Note:' >&2 || true
  for v in "${ANCIENT_JAVA_VERSIONS[@]}"; do
    rm -rf "$WORK/classes-$v"; mkdir -p "$WORK/classes-$v"
    javac -nowarn -Xlint:none -d "$WORK/classes-$v" -cp "$WORK/kafka-clients-$v/*" "$HERE/java/OldCapture.java" 2>&1 \
      | grep -v '^Note:' >&2 || true
    [[ -f $WORK/classes-$v/OldCapture.class ]] || die "javac failed (kafka-clients $v)"
  done
  [[ -f $WORK/classes-4.3.1/Extras43.class && -f $WORK/classes-$OLD_JAVA_VERSION/Capture.class ]] || die "javac failed"
  # client settings for the SASL captures
  local jaas_plain='org.apache.kafka.common.security.plain.PlainLoginModule required username="alice"'
  local jaas_scram='org.apache.kafka.common.security.scram.ScramLoginModule required username="alice"'
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=%s password="alice-secret";\n' \
    "$jaas_plain" >"$WORK/sasl-plain.properties"
  for v in 256 512; do
    printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-%s\nsasl.jaas.config=%s password="alice-secret";\n' \
      "$v" "$jaas_scram" >"$WORK/sasl-scram-$v.properties"
  done
  printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=%s password="wrong";\nmax.block.ms=5000\n' \
    "$jaas_scram" >"$WORK/sasl-bad-password.properties"
  say "building the franz-go client"
  (cd "$HERE/franz" && go build -o "$WORK/franz" .)
}

client_version() { # client id -> version string for the manifest
  case $1 in
    java-4.3.1) echo "kafka-clients 4.3.1 (Apache Kafka $BROKER_VERSION tools)" ;;
    java-2.8.2) echo "kafka-clients $OLD_JAVA_VERSION" ;;
    java-0.11.0.3|java-0.10.2.2) echo "kafka-clients ${1#java-}" ;;
    librdkafka) python3 -c 'import confluent_kafka as c; v = c.version(); v = v[0] if isinstance(v, tuple) else v
print(f"confluent-kafka {v} (librdkafka {c.libversion()[0]})")' ;;
    kcat) kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*librdkafka \([^ ]*\) .*/kcat \1 (librdkafka \2, Debian)/p' ;;
    franz-go) (cd "$HERE/franz" && go list -m -f '{{.Path}} {{.Version}}' github.com/twmb/franz-go) ;;
    kafka-python) python3 -c 'import kafka; print(f"kafka-python {kafka.__version__}")' ;;
    *) echo "$1" ;;
  esac
}

# ------------------------------------------------------------------ broker
STARTED=0 MODE=
broker_up() { # plain|security: (re)start the broker fresh in this mode
  if KAFKA_PORT_OFFSET=$OFFSET "$KAFKA" status >/dev/null 2>&1; then
    say "a broker runs on the capture ports: restarting it for a clean state"
    KAFKA_PORT_OFFSET=$OFFSET "$KAFKA" down
  fi
  if [[ $1 == security ]]; then KAFKA_PORT_OFFSET=$OFFSET "$KAFKA" up --security >&2
  else KAFKA_PORT_OFFSET=$OFFSET "$KAFKA" up >&2; fi
  STARTED=1 MODE=$1
  warm_up
}
broker_down() {
  if ((STARTED)) && [[ ${CAPTURE_KEEP_BROKER:-0} != 1 ]]; then KAFKA_PORT_OFFSET=$OFFSET "$KAFKA" down || true; fi
}

# Internal topics (__consumer_offsets, __transaction_state, __share_group_state) are created before
# any capture so that no capture records the broker creating them (retries, COORDINATOR_NOT_AVAILABLE).
warm_up() {
  say "warm-up (not captured): internal topics"
  {
    j43 Capture produce "$BOOT" warmup none 10 true
    j43 Capture consume "$BOOT" warmup warmup-group classic 10
    j43 Capture txn "$BOOT" warmup-txn 4 warmup-group
    j43 Capture extras share "$BOOT" warmup warmup-share 10
  } </dev/null >"$WORK/warm-up.log" 2>&1 || { cat "$WORK/warm-up.log" >&2; die "warm-up failed"; }
}

# A group with committed offsets for the admin scenarios (made before the capture starts).
prep_group() { # group topic
  j43 Capture produce "$BOOT" "$2" none 10 true >/dev/null
  j43 Capture consume "$BOOT" "$2" "$1" classic 10 >/dev/null
}

# ------------------------------------------------------------------ capturing
TCPDUMP_PID=
stop_tcpdump() {
  if [[ -n $TCPDUMP_PID ]]; then kill -INT "$TCPDUMP_PID" 2>/dev/null || true; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=; fi
}
cleanup() { stop_tcpdump; broker_down; }
trap cleanup EXIT

# capture NAME CLIENT SCENARIO DESCRIPTION -- runs scenario function s_NAME while tcpdump records
capture() {
  local name=$1 client=$2 scenario=$3 desc=$4 fn="s_${1//-/_}"
  local raw="$WORK/$name.pcap" log="$WORK/$name.tcpdump.log" out="$CAPS/$name.pcapng"
  say "[$name] $desc"
  if declare -F "${fn}_prep" >/dev/null; then
    "${fn}_prep" </dev/null >"$WORK/$name.prep.log" 2>&1 || { cat "$WORK/$name.prep.log" >&2; die "[$name] preparation failed"; }
    sleep 1.5   # let the preparation's last packets (a response to a closed connection, FINs) pass uncaptured
  fi
  rm -f "$raw" "$log"
  tcpdump -i lo -s 0 -U -n -w "$raw" "tcp port $CPORT" 2>"$log" &
  TCPDUMP_PID=$!
  local i
  for i in $(seq 100); do grep -q 'listening on' "$log" 2>/dev/null && break; sleep 0.1; done
  grep -q 'listening on' "$log" || die "tcpdump did not start: $(cat "$log")"
  if ! "$fn" </dev/null >"$WORK/$name.client.log" 2>&1; then
    cat "$WORK/$name.client.log" >&2
    die "[$name] client failed (log above)"
  fi
  sleep 1.5   # connection close (FIN) and late broker-internal traffic land in this capture
  stop_tcpdump
  grep -q '^0 packets dropped by kernel' "$log" || die "[$name] tcpdump dropped packets: $(cat "$log")"
  editcap -F pcapng "$raw" "$out"
  rm -f "$raw"
  local counts
  if ! counts=$(python3 "$HERE/count_frames.py" --port "$CPORT" --manifest-entry "$out"); then
    die "[$name] the reference frame counter found an unclean stream (see above)"
  fi
  CLIENT="$client" VERSION="$(client_version "$client")" SCENARIO="$scenario" DESC="$desc" NAME="$name" \
    FILE="captures/$name.pcapng" SIZE=$(stat -c %s "$out") COUNTS="$counts" PORT="$CPORT" BROKER="$BROKER_VERSION" \
    python3 - >"$META/$name.json" <<'EOF'
import json, os
e = {"file": os.environ["FILE"], "name": os.environ["NAME"], "client": os.environ["CLIENT"],
     "client_version": os.environ["VERSION"], "broker": "Apache Kafka " + os.environ["BROKER"] + " (KRaft, scripts/kafka)",
     "scenario": os.environ["SCENARIO"], "description": os.environ["DESC"], "broker_port": int(os.environ["PORT"]),
     "size_bytes": int(os.environ["SIZE"])}
e.update(json.loads(os.environ["COUNTS"]))
print(json.dumps(e, indent=1))
EOF
  say "[$name] $(stat -c %s "$out") bytes, $(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["request_frames"], "requests,", e["response_frames"], "responses,", e["connections"], "connections")' "$META/$name.json")"
}

CODECS=(none gzip snappy lz4 zstd)

# ---- Java 4.3.1: console and perf tools, plus Capture.java for transactions
s_java43_tools_metadata() {
  j43tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOT" --create --topic j43-meta --partitions 3
  j43tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOT" --list
  j43tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOT" --describe --topic j43-meta
  j43tool org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "$BOOT"
  j43tool org.apache.kafka.tools.FeatureCommand --bootstrap-server "$BOOT" describe
  j43tool org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "$BOOT" describe --status
  j43tool org.apache.kafka.tools.LogDirsCommand --bootstrap-server "$BOOT" --describe --topic-list j43-meta
}
s_java43_tools_produce_codecs() {
  local c
  for c in "${CODECS[@]}"; do
    j43tool org.apache.kafka.tools.ProducerPerformance --topic "j43-codec-$c" --num-records 40 --record-size 120 \
      --throughput -1 --producer-props bootstrap.servers="$BOOT" compression.type="$c" linger.ms=5 batch.size=2048
  done
  printf 'k1:hello\nk2:world\nk3:console producer\n' | j43tool org.apache.kafka.tools.ConsoleProducer \
    --bootstrap-server "$BOOT" --topic j43-console --reader-property parse.key=true --reader-property key.separator=:
}
s_java43_produce_acks() {
  j43 Capture produce "$BOOT" j43-acks0 none 30 false 0
  j43 Capture produce "$BOOT" j43-acks1 gzip 30 false 1
}
s_java43_idempotent() { j43 Capture produce "$BOOT" j43-idem zstd 60 true; }
s_java43_transactions() {
  j43 Capture txn "$BOOT" j43-txn 20 j43-txn-group
  j43tool org.apache.kafka.tools.ProducerPerformance --topic j43-txn-perf --num-records 40 --record-size 80 \
    --throughput -1 --transactional-id j43-perf-txn --transaction-duration-ms 200 --producer-props bootstrap.servers="$BOOT"
}
s_java43_tools_consume_classic_prep() { j43 Capture produce "$BOOT" j43-consume lz4 100 true >/dev/null; }
s_java43_tools_consume_classic() {
  j43tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BOOT" --topic j43-consume \
    --group j43-classic --from-beginning --max-messages 100 --consumer-property group.protocol=classic >/dev/null
  j43tool org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$BOOT" --topic j43-consume \
    --group j43-perf --num-records 100 --timeout 30000
}
s_java43_tools_consume_consumer_prep() { j43 Capture produce "$BOOT" j43-consume848 snappy 100 true >/dev/null; }
s_java43_tools_consume_consumer() {
  j43tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BOOT" --topic j43-consume848 \
    --group j43-848 --from-beginning --max-messages 100 --consumer-property group.protocol=consumer >/dev/null
  j43 Capture consume "$BOOT" j43-consume848 j43-848-b consumer 100
}
s_java43_tools_admin_prep() { prep_group j43-admin-group j43-admin-src; }
s_java43_tools_admin() {
  local T=org.apache.kafka.tools.TopicCommand G=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  j43tool $T --bootstrap-server "$BOOT" --create --topic j43-adm --partitions 2 --config retention.ms=3600000
  j43tool $T --bootstrap-server "$BOOT" --alter --topic j43-adm --partitions 3
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --describe --entity-type topics --entity-name j43-adm
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --alter --entity-type topics --entity-name j43-adm \
    --add-config retention.ms=7200000,max.message.bytes=1000000
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --alter --entity-type topics --entity-name j43-adm \
    --delete-config max.message.bytes
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --describe --entity-type brokers --entity-name 1 --all
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --alter --entity-type clients --entity-name capture-client \
    --add-config producer_byte_rate=1048576
  j43tool kafka.admin.ConfigCommand --bootstrap-server "$BOOT" --describe --entity-type clients
  j43tool $G --bootstrap-server "$BOOT" --list
  j43tool $G --bootstrap-server "$BOOT" --describe --group j43-admin-group
  j43tool $G --bootstrap-server "$BOOT" --describe --group j43-admin-group --members --verbose
  j43tool $G --bootstrap-server "$BOOT" --reset-offsets --group j43-admin-group --topic j43-admin-src --to-earliest --execute
  j43tool $G --bootstrap-server "$BOOT" --delete --group j43-admin-group
  j43tool org.apache.kafka.tools.GroupsCommand --bootstrap-server "$BOOT" --list
  j43tool org.apache.kafka.tools.TransactionsCommand --bootstrap-server "$BOOT" list
  j43tool $T --bootstrap-server "$BOOT" --delete --topic j43-adm
}
s_java43_admin_client_prep() { prep_group j43-api-group j43-api-src; }
s_java43_admin_client() { j43 Capture admin "$BOOT" j43-api j43-api-group; }
s_java43_admin_extras_prep() {
  j43 Capture txn "$BOOT" j43-extras-txn 5 j43-extras-txn-group >/dev/null
  j43 Capture consume "$BOOT" j43-extras-txn j43-extras-848 consumer 10 >/dev/null
}
s_java43_admin_extras() {
  j43 Capture extras admin "$BOOT" j43-extras-txn capture-txn-j43-extras-txn j43-extras-848 j43-extras-txn-group
}
s_java43_share_group_prep() { j43 Capture produce "$BOOT" j43-share none 60 true >/dev/null; }
s_java43_share_group() { j43 Capture extras share "$BOOT" j43-share j43-share-group 60; }

# ---- Java 2.8.2 (old client: older protocol versions)
s_java28_produce_codecs() {
  local c
  for c in "${CODECS[@]}"; do j28 Capture produce "$BOOT" "j28-codec-$c" "$c" 40 false 1; done
}
s_java28_idempotent() { j28 Capture produce "$BOOT" j28-idem lz4 60 true; }
s_java28_transactions() { j28 Capture txn "$BOOT" j28-txn 20 j28-txn-group; }
s_java28_consume_classic_prep() { j43 Capture produce "$BOOT" j28-consume gzip 100 true >/dev/null; }
s_java28_consume_classic() { j28 Capture consume "$BOOT" j28-consume j28-group - 100; }
s_java28_admin_prep() { prep_group j28-admin-group j28-admin-src; }
s_java28_admin() { j28 Capture admin "$BOOT" j28-adm j28-admin-group; }

# ---- librdkafka (confluent-kafka Python)
s_librdkafka_produce_codecs() { local c; for c in "${CODECS[@]}"; do rdk produce "$BOOT" "rdk-codec-$c" "$c" 40 false; done; }
s_librdkafka_idempotent() { rdk produce "$BOOT" rdk-idem zstd 60 true; }
s_librdkafka_transactions() { rdk txn "$BOOT" rdk-txn 20 rdk-txn-group; }
s_librdkafka_consume_classic_prep() { rdk produce "$BOOT" rdk-consume lz4 100 true >/dev/null; }
s_librdkafka_consume_classic() { rdk consume "$BOOT" rdk-consume rdk-classic classic 100; }
s_librdkafka_consume_consumer_prep() { rdk produce "$BOOT" rdk-consume848 snappy 100 true >/dev/null; }
s_librdkafka_consume_consumer() { rdk consume "$BOOT" rdk-consume848 rdk-848 consumer 100; }
s_librdkafka_admin_prep() { prep_group rdk-admin-group rdk-admin-src; }
s_librdkafka_admin() { rdk admin "$BOOT" rdk-adm rdk-admin-group; }
s_librdkafka_metadata_prep() { rdk produce "$BOOT" rdk-meta none 5 false >/dev/null; }
s_librdkafka_metadata() { rdk metadata "$BOOT" rdk-meta; }

# ---- kcat (Debian, its own older librdkafka)
kcat_lines() { local i; for ((i = 0; i < $1; i++)); do echo "key-$((i % 10)):value $i the quick brown fox the quick brown fox"; done; }
s_kcat_produce_codecs() {
  local c
  for c in "${CODECS[@]}"; do kcat_lines 40 | kcat -b "$BOOT" -P -t "kcat-codec-$c" -z "$c" -K: -X linger.ms=5; done
}
s_kcat_idempotent() { kcat_lines 60 | kcat -b "$BOOT" -P -t kcat-idem -z zstd -K: -X enable.idempotence=true; }
s_kcat_transactions() { kcat_lines 30 | kcat -b "$BOOT" -P -t kcat-txn -K: -X transactional.id=kcat-capture-txn; }
s_kcat_consume_classic_prep() { kcat_lines 100 | kcat -b "$BOOT" -P -t kcat-consume -z gzip -K: ; }
s_kcat_consume_classic() {
  timeout 60 kcat -b "$BOOT" -G kcat-group -X auto.offset.reset=earliest -c 100 -f '%k %s\n' kcat-consume >/dev/null
}
s_kcat_metadata_prep() { kcat_lines 5 | kcat -b "$BOOT" -P -t kcat-meta -K: ; }
s_kcat_metadata() {
  kcat -b "$BOOT" -L
  kcat -b "$BOOT" -L -J -t kcat-meta
  kcat -b "$BOOT" -Q -t kcat-meta:0:-1 -t kcat-meta:0:-2 -t kcat-meta:0:0
  kcat -b "$BOOT" -C -t kcat-meta -o beginning -e -f '%o %k %s\n'
}

# ---- franz-go
s_franz_go_produce_codecs() { local c; for c in "${CODECS[@]}"; do franz produce "$BOOT" "franz-codec-$c" "$c" 40 false; done; }
s_franz_go_idempotent() { franz produce "$BOOT" franz-idem snappy 60 true; }
s_franz_go_transactions() { franz txn "$BOOT" franz-txn 20; }
s_franz_go_consume_classic_prep() { franz produce "$BOOT" franz-consume zstd 100 true >/dev/null; }
s_franz_go_consume_classic() { franz consume "$BOOT" franz-consume franz-classic classic 100; }
s_franz_go_consume_consumer_prep() { franz produce "$BOOT" franz-consume848 lz4 100 true >/dev/null; }
s_franz_go_consume_consumer() { franz consume "$BOOT" franz-consume848 franz-848 consumer 100; }
s_franz_go_admin_prep() { prep_group franz-admin-group franz-admin-src; }
s_franz_go_admin() { franz admin "$BOOT" franz-adm franz-admin-group; }
s_franz_go_metadata_prep() { franz produce "$BOOT" franz-meta none 5 true >/dev/null; }
s_franz_go_metadata() { franz metadata "$BOOT" franz-meta; }

# ---- kafka-python
s_kafka_python_produce_codecs() { local c; for c in "${CODECS[@]}"; do kpy produce "$BOOT" "kpy-codec-$c" "$c" 40 false; done; }
s_kafka_python_idempotent() { kpy produce "$BOOT" kpy-idem gzip 60 true; }
s_kafka_python_transactions() { kpy txn "$BOOT" kpy-txn 20 kpy-txn-group; }
s_kafka_python_consume_classic_prep() { kpy produce "$BOOT" kpy-consume none 100 true >/dev/null; }
s_kafka_python_consume_classic() { kpy consume "$BOOT" kpy-consume kpy-group 100; }
s_kafka_python_admin_prep() { prep_group kpy-admin-group kpy-admin-src; }
s_kafka_python_admin() { kpy admin "$BOOT" kpy-adm kpy-admin-group; }
s_kafka_python_metadata_prep() { kpy produce "$BOOT" kpy-meta none 5 false >/dev/null; }
s_kafka_python_metadata() { kpy metadata "$BOOT" kpy-meta; }

# ---- very old Java clients
s_java011_produce_codecs() { local c; for c in none gzip snappy lz4; do jold 0.11.0.3 OldCapture produce "$BOOT" "j011-codec-$c" "$c" 40 false; done; }
s_java011_idempotent() { jold 0.11.0.3 OldCapture produce "$BOOT" j011-idem snappy 60 true; }
s_java011_transactions() { jold 0.11.0.3 OldCapture txn "$BOOT" j011-txn 20; }
s_java011_consume_classic_prep() { j43 Capture produce "$BOOT" j011-consume none 100 true >/dev/null; }
s_java011_consume_classic() { jold 0.11.0.3 OldCapture consume "$BOOT" j011-consume j011-group 100 60000; }
s_java0102_rejected_prep() { j43 Capture produce "$BOOT" j0102-consume none 20 true >/dev/null; }
s_java0102_rejected() {
  # Produce v2 (magic 1 message sets) and Fetch v3 are refused by a 4.x broker (KIP-896): it closes
  # the connection, so these requests stay unanswered; the client gives up after its timeouts.
  jold 0.10.2.2 OldCapture produce "$BOOT" j0102-produce gzip 10 false
  jold 0.10.2.2 OldCapture produce "$BOOT" j0102-produce none 10 false
  jold 0.10.2.2 OldCapture consume "$BOOT" j0102-consume j0102-group 20 12000
}

# ---- SASL (broker in security mode; the capture records its SASL_PLAINTEXT listener)
s_java43_sasl() {
  CAPTURE_CLIENT_CONFIG=$WORK/sasl-plain.properties j43 Capture produce "$SASL_BOOT" j43-sasl none 20 true
  CAPTURE_CLIENT_CONFIG=$WORK/sasl-scram-256.properties j43 Capture produce "$SASL_BOOT" j43-sasl lz4 20 true
  CAPTURE_CLIENT_CONFIG=$WORK/sasl-scram-512.properties j43 Capture consume "$SASL_BOOT" j43-sasl j43-sasl-group classic 40
  if CAPTURE_CLIENT_CONFIG=$WORK/sasl-bad-password.properties j43 Capture produce "$SASL_BOOT" j43-sasl none 1 true; then
    echo "a wrong password was accepted"; return 1
  fi
}
s_java28_sasl() {
  CAPTURE_CLIENT_CONFIG=$WORK/sasl-plain.properties j28 Capture produce "$SASL_BOOT" j28-sasl gzip 20 true
  CAPTURE_CLIENT_CONFIG=$WORK/sasl-scram-512.properties j28 Capture consume "$SASL_BOOT" j28-sasl j28-sasl-group - 20
}
rdk_sasl() { # mechanism: librdkafka settings as JSON for rdkafka_client.py
  printf '{"security.protocol":"SASL_PLAINTEXT","sasl.mechanism":"%s","sasl.username":"alice","sasl.password":"alice-secret"}' "$1"
}
s_librdkafka_sasl() {
  CAPTURE_RDKAFKA_CONF=$(rdk_sasl PLAIN) rdk produce "$SASL_BOOT" rdk-sasl none 20 true
  CAPTURE_RDKAFKA_CONF=$(rdk_sasl SCRAM-SHA-256) rdk metadata "$SASL_BOOT" rdk-sasl
  CAPTURE_RDKAFKA_CONF=$(rdk_sasl SCRAM-SHA-512) rdk consume "$SASL_BOOT" rdk-sasl rdk-sasl-group classic 20
}

# name | client | scenario | broker mode (plain: PLAINTEXT port; security: SASL_PLAINTEXT port) | description
CAPTURES=$(cat <<'EOF'
java43-tools-metadata|java-4.3.1|metadata|plain|kafka-topics create/list/describe, cluster-id, features, metadata-quorum, log-dirs
java43-tools-produce-codecs|java-4.3.1|produce-codecs|plain|kafka-producer-perf-test with compression none, gzip, snappy, lz4, zstd (40 records each) and kafka-console-producer
java43-produce-acks|java-4.3.1|produce-acks|plain|non-idempotent produce with acks=0 (no responses) and acks=1 (gzip)
java43-idempotent|java-4.3.1|idempotent|plain|idempotent produce (acks=all, zstd), 60 records
java43-transactions|java-4.3.1|transactions|plain|transactions: commit, abort, commit with consumer offsets; read_committed read-back; perf-test with --transactional-id
java43-tools-consume-classic|java-4.3.1|consume-classic|plain|kafka-console-consumer and kafka-consumer-perf-test in groups, classic protocol
java43-tools-consume-consumer|java-4.3.1|consume-consumer|plain|kafka-console-consumer and a KafkaConsumer with group.protocol=consumer (KIP-848)
java43-tools-admin|java-4.3.1|admin|plain|kafka-topics create/alter/delete, kafka-configs describe/alter (topic, broker, client quota), kafka-consumer-groups list/describe/reset/delete, kafka-groups, kafka-transactions
java43-admin-client|java-4.3.1|admin|plain|Admin client: topics, configs, partitions, offsets, records, log dirs, ACLs, features, quotas, SCRAM, elections, groups
java43-admin-extras|java-4.3.1|admin|plain|Admin client 4.x-only calls: describeProducers, list/describeTransactions, metadata quorum, listGroups, ConsumerGroupDescribe, describeClassicGroups, listConfigResources, fenceProducers
java43-share-group|java-4.3.1|share-group|plain|KafkaShareConsumer (KIP-932) with explicit acknowledgements (accept/release/reject), then describe/list offsets/delete the share group
java28-produce-codecs|java-2.8.2|produce-codecs|plain|produce with compression none, gzip, snappy, lz4, zstd (acks=1, not idempotent), 40 records each
java28-idempotent|java-2.8.2|idempotent|plain|idempotent produce (lz4), 60 records
java28-transactions|java-2.8.2|transactions|plain|transactions: commit, abort, commit with consumer offsets; read_committed read-back
java28-consume-classic|java-2.8.2|consume-classic|plain|KafkaConsumer in a group (classic protocol), 100 records
java28-admin|java-2.8.2|admin|plain|AdminClient: topics, configs, partitions, offsets, records, log dirs, ACLs, features, quotas, SCRAM, elections, groups
librdkafka-produce-codecs|librdkafka|produce-codecs|plain|produce with compression none, gzip, snappy, lz4, zstd (acks=1), 40 records each
librdkafka-idempotent|librdkafka|idempotent|plain|idempotent produce (zstd), 60 records
librdkafka-transactions|librdkafka|transactions|plain|transactions: commit, abort, commit with consumer offsets; read_committed read-back
librdkafka-consume-classic|librdkafka|consume-classic|plain|Consumer in a group, classic protocol, 100 records
librdkafka-consume-consumer|librdkafka|consume-consumer|plain|Consumer in a group with group.protocol=consumer (KIP-848), 100 records
librdkafka-admin|librdkafka|admin|plain|AdminClient: topics, configs (incremental and legacy), partitions, offsets, records, ACLs, SCRAM, groups
librdkafka-metadata|librdkafka|metadata|plain|list_topics (all, one topic)
kcat-produce-codecs|kcat|produce-codecs|plain|kcat -P with -z none, gzip, snappy, lz4, zstd, 40 records each
kcat-idempotent|kcat|idempotent|plain|kcat -P with enable.idempotence=true (zstd), 60 records
kcat-transactions|kcat|transactions|plain|kcat -P with transactional.id (one committed transaction), 30 records
kcat-consume-classic|kcat|consume-classic|plain|kcat -G (balanced consumer, classic protocol), 100 records
kcat-metadata|kcat|metadata|plain|kcat -L, -L -J -t, -Q (offsets for times), -C of one topic
franz-go-produce-codecs|franz-go|produce-codecs|plain|produce with compression none, gzip, snappy, lz4, zstd (acks=1, not idempotent), 40 records each
franz-go-idempotent|franz-go|idempotent|plain|idempotent produce (snappy), 60 records
franz-go-transactions|franz-go|transactions|plain|transactions: commit, abort, commit; read_committed read-back
franz-go-consume-classic|franz-go|consume-classic|plain|group consumer, classic protocol, 100 records
franz-go-consume-consumer|franz-go|consume-consumer|plain|group consumer with kgo.ServerSideBalancer (KIP-848), 100 records
franz-go-admin|franz-go|admin|plain|kadm: topics, configs (incremental and legacy), partitions, offsets, groups, lag, ACLs, SCRAM, log dirs, API versions
franz-go-metadata|franz-go|metadata|plain|kadm Metadata (all, one topic), ListBrokers
kafka-python-produce-codecs|kafka-python|produce-codecs|plain|produce with compression none, gzip, snappy, lz4, zstd (acks=1), 40 records each
kafka-python-idempotent|kafka-python|idempotent|plain|idempotent produce (gzip), 60 records
kafka-python-transactions|kafka-python|transactions|plain|transactions: commit, abort, commit with consumer offsets; read_committed read-back
kafka-python-consume-classic|kafka-python|consume-classic|plain|KafkaConsumer in a group (classic protocol), 100 records
kafka-python-admin|kafka-python|admin|plain|KafkaAdminClient: topics, configs (incremental and legacy), partitions, offsets, records, ACLs, log dirs, features, groups
kafka-python-metadata|kafka-python|metadata|plain|KafkaConsumer topics() and partitions_for_topic()
java011-produce-codecs|java-0.11.0.3|produce-codecs|plain|produce with compression none, gzip, snappy, lz4 (zstd came in 2.1), acks=1, 40 records each
java011-idempotent|java-0.11.0.3|idempotent|plain|idempotent produce (snappy), 60 records
java011-transactions|java-0.11.0.3|transactions|plain|transactions: one committed, one aborted
java011-consume-classic|java-0.11.0.3|consume-classic|plain|KafkaConsumer in a group (classic protocol), 100 records
java0102-rejected|java-0.10.2.2|rejected-old-versions|plain|Produce v2 (magic 1 message sets, gzip and none) and a group consumer's Fetch v3: a 4.x broker refuses these versions (KIP-896) and closes the connection
java43-sasl|java-4.3.1|sasl|security|SASL_PLAINTEXT: produce with PLAIN and SCRAM-SHA-256, consume with SCRAM-SHA-512, a failed SCRAM login (wrong password)
java28-sasl|java-2.8.2|sasl|security|SASL_PLAINTEXT: produce with PLAIN, consume with SCRAM-SHA-512
librdkafka-sasl|librdkafka|sasl|security|SASL_PLAINTEXT: produce with PLAIN, metadata with SCRAM-SHA-256, consume with SCRAM-SHA-512
EOF
)

# manifest.json = the entries of the previous manifest (partial runs) overlaid with this run's, in the
# order of $CAPTURES; entries whose capture file is gone are dropped.
write_manifest() {
  ORDER=$(cut -d'|' -f1 <<<"$CAPTURES") python3 - "$META" "$OUT/manifest.json" "$CAPS" <<'EOF'
import json, os, sys
meta, out, caps = sys.argv[1:4]
order = os.environ["ORDER"].split()
by_name = {}
if os.path.exists(out):
    for e in json.load(open(out)).get("captures", []):
        by_name[e["name"]] = e
for f in os.listdir(meta):
    if f.endswith(".json"):
        e = json.load(open(os.path.join(meta, f)))
        by_name[e["name"]] = e
entries = [by_name[n] for n in order + sorted(set(by_name) - set(order))
           if n in by_name and os.path.exists(os.path.join(caps, n + ".pcapng"))]
doc = {"generated_by": "tools/capture/capture.sh", "counter": "tools/capture/count_frames.py",
       "note": "Frame counts are the reference count of length-prefixed frames in the reassembled TCP streams to and from broker_port.",
       "captures": entries}
with open(out, "w") as fh:
    json.dump(doc, fh, indent=1)
    fh.write("\n")
print(f"manifest: {len(entries)} captures", file=sys.stderr)
EOF
}

# ------------------------------------------------------------------ main
main() {
  local install=0 names=() line
  while (($#)); do
    case $1 in
      --list) cut -d'|' -f1 <<<"$CAPTURES"; return 0 ;;
      --install) install=1 ;;
      -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; return 0 ;;
      -*) die "unknown option $1" ;;
      *) names+=("$1") ;;
    esac
    shift
  done
  ((EUID == 0)) || die "tcpdump on lo needs root"
  ((install)) && install_clients
  local n
  for n in "${names[@]}"; do grep -q "^$n|" <<<"$CAPTURES" || die "no capture named $n (see --list)"; done
  prepare
  # A full run starts from an empty manifest; a partial one keeps the other entries.
  rm -f "$META"/*.json
  if ((${#names[@]} == 0)); then rm -f "$CAPS"/*.pcapng "$OUT/manifest.json"; fi
  while IFS='|' read -r name client scenario mode desc; do
    [[ -z $name ]] && continue
    if ((${#names[@]})); then
      local want=0; for n in "${names[@]}"; do [[ $n == "$name" ]] && want=1; done
      ((want)) || continue
    fi
    [[ $MODE == "$mode" ]] || broker_up "$mode" </dev/null
    if [[ $mode == security ]]; then CPORT=$SASL_PORT; else CPORT=$PORT; fi
    capture "$name" "$client" "$scenario" "$desc"
    write_manifest
  done <<<"$CAPTURES"
  write_manifest
  say "done: $(du -sh "$OUT" | cut -f1) in $OUT"
}

main "$@"
