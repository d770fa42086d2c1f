#!/usr/bin/env bash
# kafka-cli decode side by side with tshark (Debian's Wireshark Kafka dissector).
#
#   tools/bench-decode.sh fixtures      share of frames each decodes without errors, per fixture
#   tools/bench-decode.sh capture-big   record the bulk capture (>= 200 MB): kcat produces 1.6M records
#                                       (uncompressed and gzip) and consumes them, against a broker of our
#                                       own (KAFKA_PORT_OFFSET=800 scripts/kafka up, port 9892, stopped
#                                       afterwards; refused if one already runs there), under tcpdump
#   tools/bench-decode.sh build-mix     build the fixture mix (>= 200 MB): every fixture, repeated, each
#                                       copy with its own client address so that connections stay distinct
#   tools/bench-decode.sh big           speed of both tools on both large captures (built when missing)
#   tools/bench-decode.sh all           fixtures, then big
#
# Needs: tshark (apt-get install -y tshark), python3, bc, GNU time (/usr/bin/time); capture-big also
# tcpdump, kcat, java, and root or CAP_NET_RAW for tcpdump. Knobs: KAFKA_CLI (binary; default: release
# build of this tree), RUNS (timed runs per measurement, best kept; default 3), BENCH_PORT_OFFSET
# (broker port offset of capture-big, default 800; tools/bench-clients.sh uses 700), TSHARK_FULL=0 to skip
# the slow full-tree tshark runs. Large files go to .cache/bench-decode/ (git-ignored). Results are
# printed as Markdown for docs/benchmarks.md ("Decoding captures against tshark"), headed by the
# machine, versions and load. Timed runs are not niced; keep the machine otherwise idle (the load
# average is printed before each table: CPU seconds are the comparison that survives a busy machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode=${1:-all}
dir=$root/.cache/bench-decode
bulk=$dir/kcat.pcap
mix=$dir/fixture-mix.pcapng
runs=${RUNS:-3}
offset=${BENCH_PORT_OFFSET:-800}
bport=$((9092 + offset))

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

machine() {
  echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(uname -sr)"
  echo "- kafka-cli: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- kafka-cli kafka-protocol || echo ' + uncommitted changes') (release build), $("$KAFKA_CLI" --version 2>/dev/null | head -1)"
  echo "- tshark: $(tshark -v 2>/dev/null | head -1)"
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
}

capture_big() {
  need tcpdump "apt-get install -y tcpdump"
  need kcat "apt-get install -y kcat"
  mkdir -p "$dir"
  if KAFKA_PORT_OFFSET=$offset scripts/kafka status >/dev/null 2>&1; then
    echo "bench-decode: a broker already runs with KAFKA_PORT_OFFSET=$offset (port $bport), not ours:" \
      "set BENCH_PORT_OFFSET to a free offset" >&2
    exit 2
  fi
  KAFKA_PORT_OFFSET=$offset scripts/kafka up >/dev/null
  # shellcheck disable=SC2064
  trap "KAFKA_PORT_OFFSET=$offset scripts/kafka down >/dev/null 2>&1 || true" EXIT
  local cp bs="127.0.0.1:$bport" topic="bench-decode-$$" lines="$dir/lines.txt"
  cp="$(scripts/kafka java-classpath)"
  java -Xmx256m -cp "$cp" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create \
    --topic "$topic" --partitions 6 --replication-factor 1 >/dev/null
  seq 1 1200000 | awk '{printf "key-%d:%08d the quick brown fox jumps over the lazy dog, record %d of the decode benchmark\n", $1 % 1000, $1, $1}' > "$lines"
  tcpdump -i lo -s 0 -B 65536 -w "$bulk" "tcp port $bport" 2>"$dir/tcpdump.log" &
  local dump=$!
  sleep 2
  # librdkafka as Debian packages it speaks Produce v7 and Fetch v11, which tshark 4.0 decodes.
  kcat -P -b "$bs" -t "$topic" -K: -X linger.ms=5 -X batch.num.messages=200 < "$lines"
  head -400000 "$lines" | kcat -P -b "$bs" -t "$topic" -K: -z gzip -X linger.ms=5 -X batch.num.messages=500
  kcat -C -b "$bs" -t "$topic" -e -q -X fetch.message.max.bytes=65536 > /dev/null
  sleep 2
  kill "$dump"; wait "$dump" 2>/dev/null || true
  rm -f "$lines"
  echo "$bport" > "$bulk.port"
  # A packet the kernel dropped would be a gap in a TCP stream: say so.
  grep -h "dropped by kernel" "$dir/tcpdump.log" >&2 || true
  KAFKA_PORT_OFFSET=$offset scripts/kafka down >/dev/null
  trap - EXIT
  echo "captured $(du -h "$bulk" | cut -f1) into $bulk"
}

build_mix() {
  mkdir -p "$dir"
  python3 - "$root" "$mix" 210000000 <<'PY'
import sys, struct, json, os
root, out_path, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(os.path.join(root, "fixtures/manifest.json")))
files = [os.path.join(root, "fixtures", c["file"]) for c in m["captures"]]
broker_ports = {c["broker_port"] for c in m["captures"]}
written = copy = t_base = 0
with open(out_path, "wb") as out:
    while written < target:
        last_ts, next_port = 0, 20000
        # Each copy gets its own client address (127.a.b.1) and, within the copy, every client
        # port is renumbered, so no two connections share addresses and ports. Timestamps are
        # shifted so that each copy follows the previous one. (pcapng, Ethernet, IPv4: what the
        # fixtures are; IP and TCP checksums are not recomputed, neither tool checks them.)
        client_ip = bytes([127, 1 + copy // 250, 1 + copy % 250, 1])
        for path in files:
            d = bytearray(open(path, "rb").read())
            ports, linktypes, i = {}, [], 0
            while i + 12 <= len(d):
                btype, blen = struct.unpack_from("<II", d, i)
                if btype == 1:
                    linktypes.append(struct.unpack_from("<H", d, i + 8)[0])
                elif btype == 6:
                    iface, hi, lo = struct.unpack_from("<III", d, i + 8)
                    ts = ((hi << 32) | lo) + t_base
                    last_ts = max(last_ts, ts)
                    struct.pack_into("<II", d, i + 12, ts >> 32, ts & 0xFFFFFFFF)
                    p = i + 28
                    if linktypes[iface] == 1 and d[p + 12:p + 14] == b"\x08\x00":
                        ip = p + 14
                        if d[ip + 9] == 6:
                            tcp = ip + (d[ip] & 15) * 4
                            for off in (0, 2):
                                port = struct.unpack_from(">H", d, tcp + off)[0]
                                if port in broker_ports:
                                    continue
                                if port not in ports:
                                    ports[port], next_port = next_port, next_port + 1
                                struct.pack_into(">H", d, tcp + off, ports[port])
                                d[ip + 12 + 2 * off:ip + 16 + 2 * off] = client_ip
                i += blen
            out.write(d)
            written += len(d)
        copy += 1
        t_base = last_ts + 1_000_000
print(f"built {out_path}: {copy} copies of {len(files)} fixtures, {written} bytes")
PY
}

# Best of $runs (or $n_runs) runs of "$@", output discarded: "wall cpu" in seconds, cpu = user + sys.
measure() {
  local best_wall="" best_cpu="" t
  for _ in $(seq "${n_runs:-$runs}"); do
    /usr/bin/time -o "$dir/.time" -f "%e %U %S" "$@" >/dev/null 2>&1 || true
    t=$(tail -1 "$dir/.time")
    local wall cpu
    wall=$(echo "$t" | awk '{print $1}')
    cpu=$(echo "$t" | awk '{printf "%.2f", $2 + $3}')
    if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc -l)" = 1 ]; then best_wall=$wall; fi
    if [ -z "$best_cpu" ] || [ "$(echo "$cpu < $best_cpu" | bc -l)" = 1 ]; then best_cpu=$cpu; fi
  done
  echo "$best_wall $best_cpu"
}

# bench NAME FILE PORTS...: one table for one capture. ($m, "wall cpu", is split on purpose.)
# shellcheck disable=SC2086
bench() {
  local name=$1 file=$2; shift 2
  local ports=("$@") kports="" dissect=()
  for p in "${ports[@]}"; do kports="${kports:+$kports,}$p"; dissect+=(-d "tcp.port==$p,kafka"); done
  local size frames errors tframes
  size=$(stat -c %s "$file")
  frames=$("$KAFKA_CLI" decode --json --quiet --port "$kports" "$file" | grep -c '^{')
  errors=$("$KAFKA_CLI" decode --json --quiet --port "$kports" "$file" | grep -c '"error":' || true)
  tframes=$(tshark -r "$file" "${dissect[@]}" -T fields -e kafka.correlation_id -E occurrence=a 2>/dev/null |
    awk -F, '$0 != "" {n += NF} END {print n + 0}')
  echo "### $name"
  echo
  echo "\`$(basename "$file")\`: $((size / 1000000)) MB; kafka-cli: $frames frames, $errors with errors; tshark: $tframes Kafka PDUs." \
    "Load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| tool, mode | wall s | CPU s | frames/s (CPU) | MB/s (CPU) | frames/s (wall) | kafka-cli vs tshark (CPU) | (wall) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  local -A cpu wallt
  # row LABEL KEY VS WALL CPU: VS is the tshark row (KEY) this kafka-cli row compares with.
  row() {
    local label=$1 key=$2 ref=$3 wall=$4 c=$5 vs="" vsw=""
    cpu[$key]=$c; wallt[$key]=$wall
    if [ -n "$ref" ] && [ -n "${cpu[$ref]:-}" ]; then
      vs=$(printf '%.1fx' "$(echo "${cpu[$ref]} / $c" | bc -l)")
      vsw=$(printf '%.1fx' "$(echo "${wallt[$ref]} / $wall" | bc -l)")
    fi
    printf '| %s | %s | %s | %.0f | %.1f | %.0f | %s | %s |\n' "$label" "$wall" "$c" \
      "$(echo "$frames / $c" | bc -l)" "$(echo "$size / 1000000 / $c" | bc -l)" \
      "$(echo "$frames / $wall" | bc -l)" "$vs" "$vsw"
  }
  local m
  m=$(measure tshark -r "$file" "${dissect[@]}"); row "tshark (one line per packet)" tshark-line "" $m
  m=$(measure tshark -r "$file" "${dissect[@]}" -T fields -e kafka.api_key -e kafka.correlation_id); row "tshark -T fields (api key, correlation id)" tshark-fields "" $m
  if [ "${TSHARK_FULL:-1}" != 0 ]; then
    m=$(n_runs=1 measure tshark -r "$file" "${dissect[@]}" -V); row "tshark -V (full tree; one run)" tshark-tree "" $m
  fi
  m=$(measure "$KAFKA_CLI" decode --quiet --port "$kports" "$file"); row "kafka-cli decode (one line per frame; batches and checksums checked)" ours-line tshark-line $m
  m=$(measure "$KAFKA_CLI" decode --check-records --quiet --port "$kports" "$file"); row "kafka-cli decode --check-records (one line per frame; every record read)" ours-line-deep tshark-line $m
  m=$(measure "$KAFKA_CLI" decode --stats --quiet --port "$kports" "$file"); row "kafka-cli decode --stats" ours-stats tshark-fields $m
  m=$(measure "$KAFKA_CLI" decode -v --quiet --port "$kports" "$file"); row "kafka-cli decode -v (full tree)" ours-tree tshark-tree $m
  m=$(measure "$KAFKA_CLI" decode --json --quiet --port "$kports" "$file"); row "kafka-cli decode --json (full tree)" ours-json tshark-tree $m
  echo
}

bigbench() {
  [ -f "$bulk" ] || capture_big
  [ -f "$mix" ] || build_mix
  bench "Bulk produce/consume (kcat)" "$bulk" "$(cat "$bulk.port" 2>/dev/null || echo "$bport")"
  local ports
  ports=$(python3 -c 'import json; print(" ".join(sorted({str(c["broker_port"]) for c in json.load(open("fixtures/manifest.json"))["captures"]})))')
  # shellcheck disable=SC2086
  bench "Fixture mix (every client and API of fixtures/, repeated)" "$mix" $ports
}

case "$mode" in
  fixtures) machine; echo; fixtures ;;
  capture-big) capture_big ;;
  build-mix) build_mix ;;
  big) machine; echo; bigbench ;;
  all)
    machine
    echo
    fixtures
    echo
    bigbench
    ;;
  *) echo "usage: $0 [fixtures|capture-big|build-mix|big|all]" >&2; exit 2 ;;
esac
