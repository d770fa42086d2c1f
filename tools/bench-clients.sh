#!/usr/bin/env bash
# Producer and consumer throughput, CPU and memory of three clients in one run on one broker
# (issues 5 and 6): kafka-cli (ours), the Java tools (ProducerPerformance, ConsumerPerformance,
# kafka-tools 4.3.1) and librdkafka (the confluent-kafka wheel's library driven by
# tools/bench-clients/rdkafka_bench.c).
#
#   tools/bench-clients.sh [--produce-only | --consume-only] [--reps N] [--records N] [--out DIR]
#   KAFKA_CLI=path/to/kafka-cli tools/bench-clients.sh ...   (skip the release build)
#   tools/bench-clients.sh --summary DIR                       (tables again from DIR/runs.tsv)
#
# Produce matrix: codec none/lz4 x acks 1/all x 1/6 partitions, 100-byte values, a fresh topic per
# run. Consume: the same two 1,000,000-record topics (none, lz4; 6 partitions, written once by the
# Java producer) read from the beginning by each client. Within a configuration the clients run
# one after the other, their order rotating between repetitions, so load drift on a shared machine
# hits all of them alike. Each process runs under /usr/bin/time: CPU = user + system seconds of the
# whole client process (start-up and JIT included), RSS = its peak resident set.
#
# Broker: KAFKA_PORT_OFFSET (default 700, so 127.0.0.1:9792); started here if not running (with
# KAFKA_HEAP default -Xms1g -Xmx1g) and stopped afterwards only then.
# Results: DIR/runs.tsv (every run) and DIR/summary.md (medians, the tables of
# docs/benchmarks.md); DIR defaults to target/bench-clients/<date>.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

phases="produce consume"
summary_only=""
reps=1
records=1000000
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --produce-only) phases=produce ;;
    --consume-only) phases=consume ;;
    --reps) reps=$2; shift ;;
    --records) records=$2; shift ;;
    --out) out=$2; shift ;;
    --summary) summary_only=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench-clients: unknown argument $1" >&2; exit 64 ;;
  esac
  shift
done
size=100
export KAFKA_PORT_OFFSET=${KAFKA_PORT_OFFSET:-700}
bootstrap=127.0.0.1:$((9092 + KAFKA_PORT_OFFSET))
out=${out:-$ROOT/target/bench-clients/$(date +%Y%m%d-%H%M%S)}
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- tables: medians per configuration and client, from runs.tsv ---------------------------------
summarize() { python3 - "$1" <<'EOF'
import csv, statistics, sys
from collections import defaultdict
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/runs.tsv"), delimiter="\t"))
groups = defaultdict(lambda: defaultdict(list))
loads = defaultdict(list)
for r in rows:
    key = (r["phase"], r["codec"], r["acks"], r["partitions"])
    groups[key][r["client"]].append(r)
    loads[key].append(float(r["load1"]))
print("".join(open(f"{out}/machine.txt")))
names = {"ours": "kafka-cli", "java": "Java", "rdkafka": "librdkafka"}
def num(v):
    try: return float(v)
    except ValueError: return None
for phase in ("produce", "consume"):
    keys = [k for k in groups if k[0] == phase]
    if not keys: continue
    print(f"\n### {phase}\n")
    if phase == "produce":
        print("| codec | acks | partitions | client | records/s | CPU s | CPU µs/record | peak RSS MiB | latency (median run) |")
        print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    else:
        print("| codec | client | records/s | CPU s | CPU µs/record | peak RSS MiB |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
    verdicts = []
    for key in keys:
        _, codec, acks, parts = key
        med = {}
        for client in ("ours", "java", "rdkafka"):
            rs = groups[key].get(client, [])
            if not rs: continue
            rps = [num(r["records_per_sec"]) for r in rs if num(r["records_per_sec"])]
            cpu = [float(r["cpu_s"]) for r in rs]
            rss = [float(r["rss_mib"]) for r in rs]
            n = int(rs[0]["records"])
            m = (statistics.median(rps) if rps else None, statistics.median(cpu), statistics.median(rss))
            med[client] = m
            rps_s = f"{m[0]:,.0f}" if m[0] else "failed"
            us = m[1] / n * 1e6
            if phase == "produce":
                # Latency of the run whose records/s is the median one.
                mid = sorted(rs, key=lambda r: num(r["records_per_sec"]) or 0)[len(rs) // 2]
                print(f"| {codec} | {acks} | {parts} | {names[client]} | {rps_s} | {m[1]:.2f} | {us:.2f} | {m[2]:.0f} | {mid['detail']} |")
            else:
                print(f"| {codec} | {names[client]} | {rps_s} | {m[1]:.2f} | {us:.2f} | {m[2]:.0f} |")
        if "ours" in med and med["ours"][0]:
            peers = [med[c][0] for c in ("java", "rdkafka") if c in med and med[c][0]]
            best = max(peers) if peers else 0
            cpu_ratio = med["ours"][1] / med["rdkafka"][1] if "rdkafka" in med else float("nan")
            verdicts.append((key, med["ours"][0] / best if best else float("nan"), cpu_ratio))
    print(f"\nGoal: records/s ≥ best peer (ratio ≥ 1) and CPU per record ≤ half of librdkafka's (ratio ≤ 0.5); "
          f"runs per cell: {len(next(iter(groups[keys[0]].values())))}, medians.\n")
    print("| codec | acks | partitions | ours / best peer records/s | ours / librdkafka CPU | met |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for (phase_, codec, acks, parts), t, c in verdicts:
        ok = "yes" if t >= 1 and c <= 0.5 else "no"
        print(f"| {codec} | {acks} | {parts} | {t:.2f} | {c:.2f} | {ok} |")
EOF
}

if [ -n "$summary_only" ]; then
  summarize "$summary_only"
  exit 0
fi
mkdir -p "$out"

# --- what the run needs ----------------------------------------------------------------------
need=()
[ -x /usr/bin/time ] || need+=(time)
[ -f /usr/include/librdkafka/rdkafka.h ] || need+=(librdkafka-dev)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
python3 -c 'import confluent_kafka' 2>/dev/null || python3 -m pip install -q confluent-kafka
# The header comes from Debian's librdkafka-dev; the library is the one inside the
# confluent-kafka wheel (librdkafka's ABI is stable across 2.x), so the version measured is the
# wheel's, not Debian's older one.
rdlib=$(python3 -c 'import confluent_kafka, glob, os; print(sorted(glob.glob(os.path.dirname(confluent_kafka.__file__) + ".libs/librdkafka*.so*"))[0])')
rdbench=$ROOT/target/bench-clients/rdkafka_bench
mkdir -p "$(dirname "$rdbench")"
gcc -O2 -Wall -Wextra -o "$rdbench" tools/bench-clients/rdkafka_bench.c "$rdlib" -Wl,-rpath,"$(dirname "$rdlib")"
# KAFKA_CLI=path uses an existing binary (e.g. one built in another target directory).
if [ -n "${KAFKA_CLI:-}" ]; then
  ours=$(realpath "$KAFKA_CLI")
else
  log "building kafka-cli (release)"
  cargo build -q --release -p kafka-cli
  ours=$ROOT/target/release/kafka-cli
fi
CP=$(scripts/kafka java-classpath)
# The JVM settings of Kafka's kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh wrappers
# (KAFKA_HEAP_OPTS=-Xmx512M plus kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS).
JAVA_OPTS=(-Xmx512M -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -Dlog4j2.level=warn)

# --- broker ------------------------------------------------------------------------------------
started=0
if ! scripts/kafka status >/dev/null 2>&1; then
  log "starting a broker on $bootstrap"
  KAFKA_HEAP=${KAFKA_HEAP:--Xms1g -Xmx1g} scripts/kafka up >&2
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then log "stopping the broker"; scripts/kafka down >&2 || true; fi; }
trap cleanup EXIT

create_topic() { "$ours" topics -b "$bootstrap" create "$1" -p "$2" >/dev/null 2>"$out/create.err" || { cat "$out/create.err" >&2; return 1; }; }

# --- machine -----------------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "broker: Kafka 4.3.1 (KRaft, one node, $bootstrap)"
  echo "ours: $("$ours" --version 2>/dev/null || echo kafka-cli) git $(git rev-parse --short HEAD)$(git diff --quiet -- kafka-client kafka-cli kafka-protocol || echo +changes)"
  echo "java: $(java -version 2>&1 | head -1), kafka-tools 4.3.1"
  echo "librdkafka: $(python3 -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])') (confluent-kafka $(python3 -c 'import importlib.metadata as m; print(m.version("confluent-kafka"))') wheel)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
cat "$out/machine.txt" >&2

printf 'phase\tcodec\tacks\tpartitions\tclient\trep\trecords\trecords_per_sec\twall_s\tcpu_s\trss_mib\tload1\tdetail\n' >"$out/runs.tsv"

# run NAME CMD...: runs CMD under /usr/bin/time; sets RUN_CPU, RUN_RSS, RUN_WALL and RUN_OUT.
run() {
  local name=$1; shift
  local tf="$out/$name.time"
  if ! /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$out/$name.out" 2>"$out/$name.err"; then
    log "FAILED: $name (see $out/$name.err)"; tail -5 "$out/$name.err" >&2
    RUN_OK=0
  else
    RUN_OK=1
  fi
  read -r RUN_WALL u s kb < <(tail -1 "$tf")
  RUN_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
  RUN_RSS=$(awk -v k="$kb" 'BEGIN {printf "%.0f", k / 1024}')
  RUN_OUT=$(cat "$out/$name.out")
}

record_row() { # phase codec acks parts client rep rps detail
  local load1; load1=$(cut -d' ' -f1 /proc/loadavg)
  [ "$RUN_OK" = 1 ] || { set -- "$1" "$2" "$3" "$4" "$5" "$6" "failed" "$8"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
    "$records" "$7" "$RUN_WALL" "$RUN_CPU" "$RUN_RSS" "$load1" "$8" >>"$out/runs.tsv"
  log "$1 $2 acks=$3 p=$4 $5 #$6: $7 records/s, cpu $RUN_CPU s, rss $RUN_RSS MiB ($8)"
}

json_field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); v=d
for k in sys.argv[1].split("."): v=v[k]
print(round(v, 1) if isinstance(v, float) else v)' "$1"; }

# --- produce -----------------------------------------------------------------------------------
produce_one() { # client codec acks parts rep
  local client=$1 codec=$2 acks=$3 parts=$4 rep=$5
  local topic="bc-$client-$codec-$acks-p$parts-r$rep-$$"
  local idem=false; [ "$acks" = all ] && idem=true
  create_topic "$topic" "$parts"
  sleep 2
  local name="produce-$client-$codec-$acks-p$parts-r$rep" rps detail
  case $client in
    ours)
      run "$name" "$ours" bench produce -b "$bootstrap" -t "$topic" -n "$records" -s "$size" \
        -z "$codec" --acks "$acks" -p "$parts" --json --quiet \
        -X linger.ms=5 -X batch.size=16384 -X max.in.flight.requests.per.connection=5 \
        -X buffer.memory=33554432 -X enable.idempotence=$idem
      rps=$(json_field records_per_sec <<<"$RUN_OUT" || echo "?")
      detail="p50 $(json_field latency_ms.p50 <<<"$RUN_OUT" || true) ms, p99 $(json_field latency_ms.p99 <<<"$RUN_OUT" || true) ms"
      ;;
    java)
      run "$name" java "${JAVA_OPTS[@]}" -cp "$CP" org.apache.kafka.tools.ProducerPerformance \
        --topic "$topic" --num-records "$records" --record-size "$size" --throughput -1 \
        --producer-props bootstrap.servers="$bootstrap" acks="$acks" compression.type="$codec" \
        linger.ms=5 batch.size=16384 max.in.flight.requests.per.connection=5 \
        buffer.memory=33554432 enable.idempotence=$idem
      # "1000000 records sent, 54650.1 records/sec (5.21 MB/sec), 4316.00 ms avg latency, ..."
      local last; last=$(grep 'records sent' "$out/$name.out" | tail -1 || true)
      rps=$(sed -E 's/.*sent, ([0-9.]+) records\/sec.*/\1/' <<<"$last")
      detail="p50 $(sed -E 's/.* ([0-9]+) ms 50th.*/\1/' <<<"$last") ms, p99 $(sed -E 's/.* ([0-9]+) ms 99th.*/\1/' <<<"$last") ms"
      ;;
    rdkafka)
      run "$name" "$rdbench" produce "$bootstrap" "$topic" "$records" "$size" \
        -X acks="$acks" -X compression.type="$codec" -X linger.ms=5 -X batch.size=16384 \
        -X max.in.flight=5 -X queue.buffering.max.kbytes=32768 \
        -X queue.buffering.max.messages=10000000 -X enable.idempotence=$idem -X log_level=3
      rps=$(json_field records_per_sec <<<"$RUN_OUT" || echo "?")
      detail="p50 $(json_field latency_ms.p50 <<<"$RUN_OUT" || true) ms, p99 $(json_field latency_ms.p99 <<<"$RUN_OUT" || true) ms"
      ;;
  esac
  record_row produce "$codec" "$acks" "$parts" "$client" "$rep" "$rps" "$detail"
  # Topics are deleted as we go so the broker's page cache and log flushing stay comparable.
  "$ours" topics -b "$bootstrap" delete "$topic" >/dev/null 2>&1 || true
}

# Unmeasured runs first: a broker just started serves its first millions of records with code
# the JIT has not compiled yet (and lz4 batches, which it decompresses to validate, with other
# code again), and whichever client came first paid for it in time and CPU (ours ran at up to
# 1.4x its later CPU). The C driver writes a million records of each codec to one and to six
# partitions, on throwaway topics.
warm_up() {
  local codec parts topic
  for codec in none lz4; do
    for parts in 1 6; do
      topic="bc-warmup-$codec-p$parts-$$"
      create_topic "$topic" "$parts"
      sleep 2
      run "warmup-$codec-p$parts" "$rdbench" produce "$bootstrap" "$topic" "$records" "$size" \
        -X acks=1 -X compression.type="$codec" -X linger.ms=5 -X batch.size=16384 -X log_level=3
      "$ours" topics -b "$bootstrap" delete "$topic" >/dev/null 2>&1 || true
    done
  done
  log "warm-up done"
}

clients=(ours java rdkafka)
rotate() { local r=$1; local n=${#clients[@]}; local i; for ((i = 0; i < n; i++)); do echo "${clients[$(((i + r) % n))]}"; done; }

if [[ " $phases " == *" produce "* ]]; then
  warm_up
  for rep in $(seq 1 "$reps"); do
    for codec in none lz4; do
      for acks in 1 all; do
        for parts in 1 6; do
          for client in $(rotate $((rep - 1))); do
            produce_one "$client" "$codec" "$acks" "$parts" "$rep"
          done
        done
      done
    done
  done
fi

# --- consume -----------------------------------------------------------------------------------
if [[ " $phases " == *" consume "* ]]; then
  for codec in none lz4; do
    topic="bc-consume-$codec-$records"
    # Written once by the Java producer (acks=all, defaults as above) and reused by later runs
    # on the same broker.
    if ! "$ours" topics -b "$bootstrap" list | grep -qx "$topic"; then
      log "writing $topic"
      create_topic "$topic" 6
      java "${JAVA_OPTS[@]}" -cp "$CP" org.apache.kafka.tools.ProducerPerformance \
        --topic "$topic" --num-records "$records" --record-size "$size" --throughput -1 \
        --producer-props bootstrap.servers="$bootstrap" acks=all compression.type="$codec" \
        linger.ms=5 batch.size=16384 >"$out/write-$codec.out" 2>&1
    fi
  done
  sleep 5
  for rep in $(seq 1 "$reps"); do
    for codec in none lz4; do
      topic="bc-consume-$codec-$records"
      for client in $(rotate $((rep - 1))); do
        name="consume-$client-$codec-r$rep"
        case $client in
          ours)
            run "$name" "$ours" bench-consume -b "$bootstrap" -t "$topic" -n "$records" --json --quiet \
              -X check.crcs=true -X fetch.max.wait.ms=500 -X max.partition.fetch.bytes=1048576 \
              -X fetch.max.bytes=52428800
            rps=$(json_field records_per_sec <<<"$RUN_OUT" || echo "?")
            detail="assign, timed from the first fetch"
            ;;
          java)
            # CSV: start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms,
            # fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec. fetch.nMsg.sec leaves out the group
            # join (the others do not join a group).
            run "$name" java "${JAVA_OPTS[@]}" -cp "$CP" org.apache.kafka.tools.ConsumerPerformance \
              --bootstrap-server "$bootstrap" --topic "$topic" --num-records "$records" \
              --group "bc-java-$rep-$$-$codec" --hide-header --timeout 30000 \
              --command-property check.crcs=true --command-property fetch.max.wait.ms=500 \
              --command-property fetch.max.bytes=52428800
            line=$(grep -E '^[0-9]{4}-' "$out/$name.out" | tail -1 || true)
            rps=$(awk -F', *' '{printf "%.1f", $10}' <<<"$line")
            detail="subscribe; fetch.nMsg.sec (join excluded; nMsg.sec $(awk -F', *' '{print $6}' <<<"$line"))"
            ;;
          rdkafka)
            run "$name" "$rdbench" consume "$bootstrap" "$topic" "$records" \
              -X group.id="bc-rdkafka-$rep-$$" -X enable.auto.commit=false -X check.crcs=true \
              -X fetch.wait.max.ms=500 -X max.partition.fetch.bytes=1048576 \
              -X fetch.max.bytes=52428800 -X queued.max.messages.kbytes=65536 -X log_level=3
            rps=$(json_field records_per_sec <<<"$RUN_OUT" || echo "?")
            detail="assign, timed from assign"
            ;;
        esac
        record_row consume "$codec" - 6 "$client" "$rep" "$rps" "$detail"
        sleep 2
      done
    done
  done
fi

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

# --- summary -----------------------------------------------------------------------------------
summarize "$out" >"$out/summary.md"
cat "$out/summary.md"
log "results in $out"
