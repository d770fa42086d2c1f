#!/usr/bin/env bash
# Message codec benchmarks, ours against the crates.io kafka-protocol crate:
#  1. instruction counts per decode and encode under callgrind (repeatable on a busy machine),
#     encode both contiguous and chunked (records referenced, for vectored writes);
#  2. criterion wall-clock throughput (decode and encode) in one process.
# Usage: tools/bench-codec.sh [--no-criterion]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p kafka-protocol@0.1.0 --example instruction_count
bin=target/release/examples/instruction_count
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'
}
printf '| message | operation | ours (instructions) | upstream (instructions) | upstream / ours |\n|---|---|---|---|---|\n'
for m in metadata produce fetch; do
  # encode-chunked: ours into a chunked Writer (records referenced, not copied), against
  # upstream's ordinary encode, as upstream has no chunked mode.
  for op in decode encode encode-chunked; do
    n=200
    declare -A per
    for c in ours upstream; do
      extra=""
      [ "$op" != decode ] && extra=$op
      [ "$c" = upstream ] && [ "$op" = encode-chunked ] && extra=encode
      base=$(count "$bin" "$c" "$m" 0 $extra)
      total=$(count "$bin" "$c" "$m" "$n" $extra)
      per[$c]=$(( (total - base) / n ))
    done
    ratio=$(awk -v a="${per[upstream]}" -v b="${per[ours]}" 'BEGIN {printf "%.2f", a / b}')
    printf '| %s | %s | %s | %s | %s |\n' "$m" "$op" "${per[ours]}" "${per[upstream]}" "$ratio"
  done
done
if [ "${1:-}" != "--no-criterion" ]; then
  cargo bench -p kafka-protocol@0.1.0 --bench messages
fi
