#!/usr/bin/env bash
# kafka-cli decode side by side with tshark (Debian's Wireshark Kafka dissector).
#
#   tools/bench-decode.sh fixtures      share of frames each decodes without errors, per fixture
#   tools/bench-decode.sh capture-big   record the large capture (>= 200 MB) with tcpdump on a broker of
#                                       our own (KAFKA_PORT_OFFSET=700 scripts/kafka up, port 9792)
#   tools/bench-decode.sh big           frames per second of both on the large capture
#   tools/bench-decode.sh all           fixtures, then big (capturing it first when missing)
#
# Needs: tshark (apt-get install -y tshark), python3; capture-big also tcpdump, java, and root or
# CAP_NET_RAW for tcpdump. Knobs: KAFKA_CLI (binary; default: release build of this tree),
# BIG_CAPTURE (default .cache/bench-decode/scenario.pcap), BIG_PORT (default 9792), RUNS (timed
# runs per tool on the big capture, best kept; default 3). Results go to stdout as Markdown rows
# for docs/benchmarks-decode.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode=${1:-all}
big=${BIG_CAPTURE:-$root/.cache/bench-decode/scenario.pcap}
big_port=${BIG_PORT:-9792}
runs=${RUNS:-3}

need() { command -v "$1" >/dev/null || { echo "bench-decode: $1 is required ($2)" >&2; exit 2; }; }
need tshark "apt-get install -y tshark"
need python3 "apt-get install -y python3"

if [ -z "${KAFKA_CLI:-}" ]; then
  cargo build -q --release -p kafka-cli
  KAFKA_CLI="${CARGO_TARGET_DIR:-$root/target}/release/kafka-cli"
fi

# Per Kafka PDU verdicts of tshark from `tshark -T pdml` on stdin. A PDU counts as decoded when
# nothing in it is marked malformed and it carries no expert info of severity warning or above,
# except the notes tshark puts on the entries of an ApiVersions response about API keys and
# versions it does not know (they describe the broker's list, not a failure to decode the frame).
tshark_verdicts() {
  python3 -c '
import sys, json, collections
import xml.etree.ElementTree as ET
SEV_WARN = 6291456
def expert(e):
    sev, msg = 0, e.get("showname")
    for f in e.iter("field"):
        if f.get("name") == "_ws.expert.severity": sev = int(f.get("show"))
        elif f.get("name") == "_ws.expert.message": msg = f.get("show")
    return sev, msg
def api_key(p):
    for f in p.iter("field"):
        if f.get("name") == "kafka.api_key": return f.get("show")
total = ok = 0
reasons = collections.Counter()
for _, el in ET.iterparse(sys.stdin.buffer, events=("end",)):
    if el.tag != "packet": continue
    protos = el.findall("proto")
    kafka = [p for p in protos if p.get("name") == "kafka"]
    packet_malformed = any(p.get("name") == "_ws.malformed" for p in protos)
    for i, p in enumerate(kafka):
        total += 1
        key, bad = api_key(p), set()
        for f in p.iter("field"):
            if f.get("name") == "_ws.malformed": bad.add("malformed")
            elif f.get("name") == "_ws.expert":
                sev, msg = expert(f)
                if sev < SEV_WARN: continue
                if key == "18" and msg and msg.startswith(("Unknown ", "Unsupported ")): continue
                bad.add(msg)
        if packet_malformed and i == len(kafka) - 1: bad.add("malformed")
        if bad: reasons.update(bad)
        else: ok += 1
    el.clear()
print(json.dumps({"pdus": total, "ok": ok, "reasons": reasons.most_common(20)}))
'
}

fixtures() {
  local rows=/tmp/bench-decode-fixtures.$$
  : > "$rows"
  python3 -c 'import json; [print(c["file"], c["broker_port"], c["request_frames"] + c["response_frames"]) for c in json.load(open("fixtures/manifest.json"))["captures"]]' |
  while read -r file port reference; do
    local f="fixtures/$file" ours ours_ok theirs
    ours=$("$KAFKA_CLI" decode --json --quiet --port "$port" "$f" 2>/dev/null || true)
    ours_ok=$(printf '%s\n' "$ours" | grep -c '^{' || true)
    local ours_err
    ours_err=$(printf '%s\n' "$ours" | grep -c '"error":' || true)
    theirs=$(tshark -r "$f" -d "tcp.port==$port,kafka" -T pdml 2>/dev/null | tshark_verdicts)
    printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$file" .pcapng)" "$reference" "$((ours_ok - ours_err))" "$ours_ok" "$theirs" >> "$rows"
  done
  python3 - "$rows" <<'PY'
import sys, json, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
print("| capture | reference frames | kafka-cli decoded | tshark PDUs | tshark decoded | tshark's main failures |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
tot = collections.Counter()
why = collections.Counter()
for name, ref, ours_ok, ours_n, theirs in rows:
    t = json.loads(theirs)
    ref = int(ref); ours_ok = int(ours_ok); ours_n = int(ours_n)
    tot["ref"] += ref; tot["ours"] += ours_ok; tot["ours_n"] += ours_n
    tot["t_n"] += t["pdus"]; tot["t_ok"] += t["ok"]
    for r, n in t["reasons"]: why[r.split(" Supports")[0] if r.startswith("Unsupported") else r] += n
    main = "; ".join(f"{r} ({n})" for r, n in t["reasons"][:2])
    print(f"| {name} | {ref} | {ours_ok} ({100*ours_ok/ref:.0f}%) | {t['pdus']} | {t['ok']} ({100*t['ok']/ref:.0f}%) | {main} |")
print(f"| **all {len(rows)}** | **{tot['ref']}** | **{tot['ours']} ({100*tot['ours']/tot['ref']:.1f}%)** | {tot['t_n']} | **{tot['t_ok']} ({100*tot['t_ok']/tot['ref']:.1f}%)** | |")
print()
print("tshark failure reasons over all fixtures (PDUs):")
for r, n in why.most_common(12):
    print(f"- {r}: {n}")
PY
  rm -f "$rows"
}

capture_big() {
  need tcpdump "apt-get install -y tcpdump"
  mkdir -p "$(dirname "$big")"
  local offset=$((big_port - 9092))
  KAFKA_PORT_OFFSET=$offset scripts/kafka up >/dev/null
  local cp bs="127.0.0.1:$big_port" topic="bench-decode-$$"
  cp="$(scripts/kafka java-classpath)"
  j() { java -Xmx512m -cp "$cp" "$@"; }
  j org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create --topic "$topic" --partitions 3 --replication-factor 1 >/dev/null
  tcpdump -i lo -s 0 -B 65536 -w "$big" "tcp port $big_port" 2>/dev/null &
  local dump=$!
  sleep 2
  # The scenario: 800k x 100 B uncompressed, 400k x 100 B lz4, then one consumer reads all of it.
  j org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records 800000 --record-size 100 \
    --throughput -1 --command-property bootstrap.servers="$bs" --command-property linger.ms=5 >/dev/null
  j org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records 400000 --record-size 100 \
    --throughput -1 --command-property bootstrap.servers="$bs" --command-property compression.type=lz4 \
    --command-property linger.ms=5 >/dev/null
  j org.apache.kafka.tools.ConsumerPerformance --topic "$topic" --messages 1200000 --bootstrap-server "$bs" \
    --timeout 60000 >/dev/null
  sleep 2
  kill "$dump"; wait "$dump" 2>/dev/null || true
  echo "captured $(du -h "$big" | cut -f1) into $big"
}

# Best wall time in seconds of "$@" over $runs runs, output discarded.
best_time() {
  local best="" t
  for _ in $(seq "${n_runs:-$runs}"); do
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  printf '%.3f' "$best"
}

bigbench() {
  [ -f "$big" ] || { echo "bench-decode: $big is missing: run '$0 capture-big' first" >&2; exit 2; }
  local size frames errors tframes
  size=$(stat -c %s "$big")
  frames=$("$KAFKA_CLI" decode --json --quiet --port "$big_port" "$big" | grep -c '^{')
  errors=$("$KAFKA_CLI" decode --json --quiet --port "$big_port" "$big" | grep -c '"error":' || true)
  tframes=$(tshark -r "$big" -d "tcp.port==$big_port,kafka" -T fields -e kafka.correlation_id -E occurrence=a 2>/dev/null |
    awk -F, 'NF && $0 != "" {n += NF} END {print n + 0}')
  echo "capture: $big, $((size / 1000000)) MB, kafka-cli frames: $frames ($errors with errors), tshark Kafka PDUs: $tframes"
  echo
  echo "| tool and mode | seconds (best of $runs) | frames/s | MB/s | vs tshark summary |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  local ts
  ts=$(best_time tshark -r "$big" -d "tcp.port==$big_port,kafka")
  row() {
    local name=$1 secs=$2
    printf '| %s | %s | %.0f | %.1f | %.1fx |\n' "$name" "$secs" "$(echo "$frames / $secs" | bc -l)" \
      "$(echo "$size / 1000000 / $secs" | bc -l)" "$(echo "$ts / $secs" | bc -l)"
  }
  row "tshark (one line per packet)" "$ts"
  row "tshark -T fields -e kafka.api_key -e kafka.correlation_id" \
    "$(best_time tshark -r "$big" -d "tcp.port==$big_port,kafka" -T fields -e kafka.api_key -e kafka.correlation_id)"
  row "tshark -V (full tree, one run)" "$(n_runs=1 best_time tshark -r "$big" -d "tcp.port==$big_port,kafka" -V)"
  row "kafka-cli decode (one line per frame)" "$(best_time "$KAFKA_CLI" decode --quiet --port "$big_port" "$big")"
  row "kafka-cli decode --json (records included)" "$(best_time "$KAFKA_CLI" decode --json --quiet --port "$big_port" "$big")"
  row "kafka-cli decode -v (full tree)" "$(best_time "$KAFKA_CLI" decode -v --quiet --port "$big_port" "$big")"
  row "kafka-cli decode --stats" "$(best_time "$KAFKA_CLI" decode --stats --quiet --port "$big_port" "$big")"
}

case "$mode" in
  fixtures) fixtures ;;
  capture-big) capture_big ;;
  big) bigbench ;;
  all)
    fixtures
    echo
    [ -f "$big" ] || capture_big
    bigbench
    ;;
  *) echo "usage: $0 [fixtures|capture-big|big|all]" >&2; exit 2 ;;
esac
