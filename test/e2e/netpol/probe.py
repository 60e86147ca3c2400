"""Probe of the real-packet flow table (test/e2e/netpol-packets.test.ts), stdlib only.

  probe.py serve ROLE PORT[/udp] ...   answers every TCP connection (and UDP datagram) with
                                       "ROLE PORT\\n" so a client knows whom it reached
  probe.py connect JSON                JSON: [{"id", "host", "port", "proto", "kind"}]; tries all in
                                       parallel and prints {"id": "open <reply>" | "<failure>"}
kind "echo" expects a listener above; kind "connect" only a completed handshake; kind "dns" sends a DNS query (UDP, or TCP with the 2-byte
length prefix) and expects an answer with the same id.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

TIMEOUT_S = 3.0


def _tcp_serve(role: str, port: int) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        with conn:
            try:
                conn.sendall(f"{role} {port}\n".encode())
            except OSError:
                pass


def _udp_serve(role: str, port: int) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("0.0.0.0", port))
    while True:
        _, peer = srv.recvfrom(2048)
        srv.sendto(f"{role} {port}\n".encode(), peer)


def serve(role: str, specs: list[str]) -> None:
    threads = []
    for spec in specs:
        port, _, proto = spec.partition("/")
        target = _udp_serve if proto == "udp" else _tcp_serve
        t = threading.Thread(target=target, args=(role, int(port)), daemon=True)
        t.start()
        threads.append(t)
    print(f"serving {role} on {' '.join(specs)}", flush=True)
    for t in threads:
        t.join()


def dns_query(qid: int) -> bytes:
    """A recursion-desired A query for kubernetes.default.svc.cluster.local (CoreDNS answers it)."""
    name = b"".join(bytes([len(p)]) + p for p in b"kubernetes.default.svc.cluster.local".split(b".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def probe(target: dict[str, object]) -> str:
    host, port = str(target["host"]), int(str(target["port"]))
    proto, kind = str(target["proto"]), str(target["kind"])
    qid = 0x5A5A
    try:
        if proto == "UDP":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(TIMEOUT_S)
                s.sendto(dns_query(qid) if kind == "dns" else b"ping", (host, port))
                reply = s.recv(4096)
        else:
            with socket.create_connection((host, port), timeout=TIMEOUT_S) as s:
                s.settimeout(TIMEOUT_S)
                if kind == "connect":
                    return "open connected"
                if kind == "dns":
                    q = dns_query(qid)
                    s.sendall(struct.pack(">H", len(q)) + q)
                    size = struct.unpack(">H", _recv_exact(s, 2))[0]
                    reply = _recv_exact(s, size)
                else:
                    reply = s.recv(256)
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return type(e).__name__
    if kind == "dns":
        ok = len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid
        return "open dns-answer" if ok else "bad-reply"
    return f"open {reply.decode(errors='replace').strip()}" if reply else "closed-without-reply"


def connect(targets: list[dict[str, object]]) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
        results = list(pool.map(probe, targets))
    return {str(t["id"]): r for t, r in zip(targets, results)}


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "serve":
        serve(argv[1], argv[2:])
        return 0
    if len(argv) == 2 and argv[0] == "connect":
        print(json.dumps(connect(json.loads(argv[1]))), flush=True)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
