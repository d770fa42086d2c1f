#!/bin/bash
# runs inside a private network namespace
set -e
ip link set lo up
T=$(cd "$(dirname "$0")" && pwd)
cd "${OUT:-.}"
cap() {
  local name=$1; shift
  "$@" &
  local pid=$!
  sleep 1.5
  python3 $T/kafka_like.py --ipv6 --tls
  sleep 0.5
  kill -INT $pid
  wait $pid 2>/dev/null || true
}
cap loopback_ethernet.pcap tcpdump -U -i lo -w loopback_ethernet.pcap 'tcp port 9092'
cap any_sll2.pcap tcpdump -U -i any -w any_sll2.pcap 'tcp port 9092'
cap loopback_nanosecond.pcap tcpdump -U -i lo --time-stamp-precision=nano -w loopback_nanosecond.pcap 'tcp port 9092'
cap loopback_dumpcap.pcapng dumpcap -q -i lo -f 'tcp port 9092' -w "$PWD/loopback_dumpcap.pcapng"
