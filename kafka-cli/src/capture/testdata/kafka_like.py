#!/usr/bin/env python3
"""Generates Kafka-framed loopback traffic for the capture tests (see README.md).

A tiny server on 127.0.0.1:9092 (and [::1]:9092) answers every length-prefixed request with a
response carrying the request's correlation id. The client sends Kafka-shaped requests
(ApiVersions, Metadata, a large Produce written in pieces, two pipelined requests), then a
connection that starts like TLS. Only loopback addresses are used.
"""
import socket
import struct
import sys
import threading
import time


def request(api_key, api_version, corr, client_id, body=b""):
    cid = client_id.encode()
    payload = struct.pack(">hhih", api_key, api_version, corr, len(cid)) + cid + body
    return struct.pack(">i", len(payload)) + payload


def response(corr, body):
    payload = struct.pack(">i", corr) + body
    return struct.pack(">i", len(payload)) + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def serve_conn(conn):
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            head = recv_exact(conn, 4)
            if head is None:
                return
            (length,) = struct.unpack(">i", head)
            if length < 8 or length > 1 << 20:
                return  # not Kafka: hang up
            frame = recv_exact(conn, length)
            if frame is None:
                return
            api_key, _ver, corr = struct.unpack(">hhi", frame[:8])
            size = {18: 40, 3: 300, 0: 60, 1: 3000}.get(api_key, 20)
            conn.sendall(response(corr, bytes([api_key & 0xFF]) * size))


def serve(family, addr):
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr)
    srv.listen()
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def client(family, addr, client_id):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect(addr)

    def roundtrip(req, responses=1):
        s.sendall(req)
        for _ in range(responses):
            (n,) = struct.unpack(">i", recv_exact(s, 4))
            recv_exact(s, n)

    roundtrip(request(18, 3, 1, client_id, b"\x00"))
    roundtrip(request(3, 12, 2, client_id, b"\x00\x00\x00\x01\x00\x05topic"))
    # a produce request written in three pieces (three segments)
    big = request(0, 9, 3, client_id, bytes(range(256)) * 12)
    for part in (big[:10], big[10:1000], big[1000:]):
        s.sendall(part)
        time.sleep(0.02)
    (n,) = struct.unpack(">i", recv_exact(s, 4))
    recv_exact(s, n)
    # two requests in one write
    roundtrip(request(1, 11, 4, client_id, b"\x00" * 30) + request(12, 4, 5, client_id), 2)
    s.close()


def tls_like(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.connect(addr)
    s.sendall(b"\x16\x03\x01\x00\x2a" + b"\x01" * 42)
    time.sleep(0.05)
    s.close()


def main():
    families = [(socket.AF_INET, ("127.0.0.1", 9092))]
    if "--ipv6" in sys.argv:
        families.append((socket.AF_INET6, ("::1", 9092)))
    for family, addr in families:
        threading.Thread(target=serve, args=(family, addr), daemon=True).start()
    time.sleep(0.3)
    for family, addr in families:
        client(family, addr, "kcap-test")
        time.sleep(0.05)
    if "--tls" in sys.argv:
        tls_like(socket.AF_INET, ("127.0.0.1", 9092))
    time.sleep(0.3)


if __name__ == "__main__":
    main()
