#!/usr/bin/env bash
# Builds the Java reference oracle and lays out, relative to the repo root:
#   .cache/java-oracle/oracle.jar      the oracle (compiled against kafka-clients 4.3.1)
#   .cache/java-oracle/lib-4.3.1/      kafka-clients 4.3.1 + runtime deps
#   .cache/java-oracle/lib-3.9.1/      kafka-clients 3.9.1 + runtime deps
# Run it with either lib folder:
#   java -cp '.cache/java-oracle/oracle.jar:.cache/java-oracle/lib-4.3.1/*' kafkars.oracle.Oracle
#
# Idempotent: when nothing under tools/java-oracle changed since the last successful build it exits
# without starting Maven. Maven is tried offline first, then online (Maven Central) if that fails.
# Safe to call concurrently (flock). Prints nothing on success unless ORACLE_VERBOSE=1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/.cache/java-oracle"
VERSIONS=(4.3.1 3.9.1)

mkdir -p "$OUT"

log() { if [[ "${ORACLE_VERBOSE:-0}" == 1 ]]; then echo "java-oracle: $*" >&2; fi; }

stamp() {
  (
    cd "$HERE"
    { echo "versions=${VERSIONS[*]}"; cat pom.xml build.sh; find src -type f | LC_ALL=C sort | xargs cat; } \
      | sha256sum | cut -d' ' -f1
  )
}

complete() {
  [[ -f "$OUT/oracle.jar" ]] || return 1
  for v in "${VERSIONS[@]}"; do
    [[ -f "$OUT/lib-$v/kafka-clients-$v.jar" ]] || return 1
  done
  [[ -f "$OUT/.stamp" && "$(cat "$OUT/.stamp")" == "$(stamp)" ]]
}

# Fast path without taking the lock.
if complete; then
  log "up to date"
  exit 0
fi

exec 9>"$OUT/.lock"
flock 9
if complete; then
  log "up to date (built concurrently)"
  exit 0
fi

command -v mvn >/dev/null || { echo "java-oracle: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "java-oracle: java not found" >&2; exit 1; }

mvn_run() {
  # Offline first (fast, no network), then online.
  if mvn -B -q -o -f "$HERE/pom.xml" "$@" >"$OUT/.mvn.log" 2>&1; then
    return 0
  fi
  log "offline maven failed, retrying online: $*"
  if mvn -B -q -f "$HERE/pom.xml" "$@" >"$OUT/.mvn.log" 2>&1; then
    return 0
  fi
  echo "java-oracle: maven failed: mvn $*" >&2
  cat "$OUT/.mvn.log" >&2
  return 1
}

log "building oracle.jar"
mvn_run package
cp "$HERE/target/oracle.jar" "$OUT/oracle.jar.tmp"
mv -f "$OUT/oracle.jar.tmp" "$OUT/oracle.jar"

for v in "${VERSIONS[@]}"; do
  if [[ -f "$OUT/lib-$v/kafka-clients-$v.jar" ]]; then
    continue
  fi
  log "copying runtime libs for kafka-clients $v"
  rm -rf "$OUT/lib-$v.tmp"
  mvn_run -Dkafka.version="$v" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$OUT/lib-$v.tmp"
  rm -rf "$OUT/lib-$v"
  mv "$OUT/lib-$v.tmp" "$OUT/lib-$v"
done

stamp >"$OUT/.stamp"
log "done: $OUT"
