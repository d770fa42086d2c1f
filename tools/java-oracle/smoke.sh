#!/usr/bin/env bash
# Smoke test for the Java oracle: builds it, then drives one long-running oracle per kafka-clients
# version (4.3.1 and 3.9.1) over stdin/stdout and checks the answers, ending with the in-JVM selftest
# (sample default + populated seeds + roundtrip for every api key, request and response, every version).
# Exit status 0 iff everything passed. Set SMOKE_SEEDS to change the number of populated seeds (default 5).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/.cache/java-oracle"
SEEDS="${SMOKE_SEEDS:-5}"

"$HERE/build.sh"

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL [$v] $*" >&2; }

for v in 4.3.1 3.9.1; do
  LOG="$(mktemp)"
  coproc ORACLE { exec java -cp "$OUT/oracle.jar:$OUT/lib-$v/*" kafkars.oracle.Oracle 2>"$LOG"; }
  ask() {
    printf '%s\n' "$1" >&"${ORACLE[1]}"
    IFS= read -r REPLY <&"${ORACLE[0]}" || { REPLY="<oracle died>"; cat "$LOG" >&2; }
  }
  expect_eq() { # command expected
    ask "$1"
    if [[ "$REPLY" == "$2" ]]; then ok; else bad "$1 => '${REPLY:0:200}', expected '$2'"; fi
  }
  expect_prefix() { # command prefix
    ask "$1"
    if [[ "$REPLY" == "$2"* ]]; then ok; else bad "$1 => '${REPLY:0:200}', expected prefix '$2'"; fi
  }
  expect_contains() { # command substring
    ask "$1"
    if [[ "$REPLY" == *"$2"* ]]; then ok; else bad "$1 => '${REPLY:0:200}', expected to contain '$2'"; fi
  }

  expect_eq "version" "ok $v"
  expect_prefix "apis" '[{"key":0,"name":"Produce","enum":"PRODUCE","lowest":'
  expect_contains "apis" '"name":"ApiVersions"'
  expect_contains "errors" '{"code":-1,"name":"UNKNOWN_SERVER_ERROR","retriable":false,'
  expect_contains "errors" '"name":"NOT_LEADER_OR_FOLLOWER","retriable":true'

  # sample -> roundtrip gives the same bytes (a few pairs present in both versions)
  for spec in "0 request 3" "0 response 9" "1 request 12" "1 response 12" "3 request 12" "18 request 3" \
              "18 response 3" "60 request 0" "-1 request_header 2" "-1 response_header 1"; do
    set -- $spec
    for mode in "default" "populated"; do
      ask "sample $1 $2 $3 42 $mode"
      if [[ "$REPLY" != ok\ * ]]; then bad "sample $spec $mode => $REPLY"; continue; fi
      hex="${REPLY#ok }"
      expect_eq "roundtrip $1 $2 $3 $hex" "ok $hex"
      # trailing garbage is rejected
      expect_eq "roundtrip $1 $2 $3 ${hex}00" "err trailing 1 bytes"
    done
  done
  # deterministic in seed, different across seeds
  ask "sample 3 response 12 7 populated"; a="$REPLY"
  ask "sample 3 response 12 7 populated"; b="$REPLY"
  ask "sample 3 response 12 8 populated"; c="$REPLY"
  if [[ "$a" == "$b" && "$a" != "$c" && "$a" == ok\ * ]]; then ok; else bad "sample determinism: $a / $b / $c"; fi

  # ApiVersions v0 request has an empty body: "ok " + empty hex
  expect_eq "sample 18 request 0 1 default" "ok "
  expect_eq "roundtrip 18 request 0" "ok "

  # murmur2: values from Kafka's UtilsTest (murmur2("21") = -973932308, murmur2("foobar") = -790332482)
  expect_eq "murmur2 3231 2147483647" "ok 1173551340"
  expect_eq "murmur2 666f6f626172 2147483647" "ok 1357151166"
  expect_eq "murmur2 666f6f626172 3" "ok $((1357151166 % 3))"

  # records build -> read
  for c in none gzip snappy lz4 zstd; do
    ask "records-build 2 $c 100 [{\"offset\":100,\"timestamp\":1700000000000,\"key\":\"6b6579\",\"value\":\"76616c7565\",\"headers\":[[\"h\",\"01\"],[\"n\",null]]},{\"offset\":101,\"timestamp\":1700000000005,\"key\":null,\"value\":null,\"headers\":[]}]"
    if [[ "$REPLY" != ok\ * ]]; then bad "records-build $c => $REPLY"; continue; fi
    expect_contains "records-read ${REPLY#ok }" "\"compression\":\"$c\",\"is_control\":false,\"is_transactional\":false,\"producer_id\":-1,\"producer_epoch\":-1,\"base_sequence\":-1,\"partition_leader_epoch\":-1,\"timestamp_type\":\"create\",\"max_timestamp\":1700000000005,"
    ask "records-build 2 $c 100 [{\"offset\":100,\"timestamp\":1700000000000,\"key\":\"6b6579\",\"value\":\"76616c7565\",\"headers\":[[\"h\",\"01\"],[\"n\",null]]},{\"offset\":101,\"timestamp\":1700000000005,\"key\":null,\"value\":null,\"headers\":[]}]"
    expect_contains "records-read ${REPLY#ok }" '"records":[{"offset":100,"timestamp":1700000000000,"key":"6b6579","value":"76616c7565","headers":[["h","01"],["n",null]]},{"offset":101,"timestamp":1700000000005,"key":null,"value":null,"headers":[]}]}]'
  done
  for m in 0 1; do
    ask "records-build $m gzip 0 [{\"offset\":0,\"timestamp\":5,\"key\":\"61\",\"value\":\"62\"}]"
    expect_contains "records-read ${REPLY#ok }" "{\"magic\":$m,\"base_offset\":0,"
  done
  expect_prefix "records-read 00" "ok []"
  # a flipped byte must fail batch validation (CRC)
  ask "records-build 2 none 0 [{\"offset\":0,\"timestamp\":5,\"key\":\"61\",\"value\":\"62\"}]"
  hex="${REPLY#ok }"
  expect_prefix "records-read ${hex:0:${#hex}-2}ff" "err CorruptRecordException"

  # bad input never kills the oracle
  expect_prefix "bogus" "err "
  expect_prefix "" "err "
  expect_prefix "roundtrip 0 request" "err "
  expect_prefix "roundtrip 0 request 9 zz" "err "
  expect_prefix "sample 9999 request 0 1 populated" "err "
  expect_prefix "records-build 2 none 0 [" "err "
  expect_eq "ping" "ok"

  # the big one: every api key x request/response x version
  ask "selftest $SEEDS"
  if [[ "$REPLY" =~ ^ok\ ([0-9]+)\ 0$ ]]; then
    ok
    echo "selftest [$v]: ${BASH_REMATCH[1]} message/version pairs proven, 0 failures" >&2
  else
    bad "selftest => $REPLY"
    grep 'selftest' "$LOG" >&2 || true
  fi

  printf 'quit\n' >&"${ORACLE[1]}"
  wait "$ORACLE_PID" || bad "oracle exited non-zero"
  rm -f "$LOG"
done

echo "java-oracle smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
