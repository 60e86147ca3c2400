"""What the sandboxes' egress proxy costs, on loopback with podman: the image and the pod as
test/python/test_egress_proxy_image.py runs them (squid.conf from squid-config.ts, uid 10001,
read-only root, host network), against a TLS server this script starts on 127.0.0.1 under a name
only the container's /etc/hosts knows.

- Latency: N HTTPS GETs, each on a new connection (TCP + TLS handshake + request), directly to the
  origin and through the proxy (CONNECT, peek at the ClientHello, splice); p50 and p95 of each,
  and the difference.
- Memory: the Squid container's memory (podman stats) idle, then with 50 tunnels held open at
  once, each with its TLS session established and no request yet (the origin, HTTP/1.0, would
  close a tunnel after one response).

Loopback only: no pod network, no NetworkPolicy, no real distance; what it shows is the proxy's own
share. Usage: .venv/agent-tests/bin/python bench/egress_proxy.py [--requests N]
(needs podman and the base image, as scripts/test-image.sh).
"""
from __future__ import annotations

import argparse
import json
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "test" / "python"))

from images import build, podman  # noqa: E402
from test_egress_proxy_image import AGENT_DIR, PROXY, Origin, Proxy  # noqa: E402


def tls_get(host: str, port: int, via: Proxy | None) -> float:
    """Seconds for one HTTPS GET on a new connection, direct or through the proxy."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    started = time.perf_counter()
    raw = socket.create_connection(("127.0.0.1", via.port if via else port), timeout=10)
    if via:
        raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        if b" 200 " not in raw.recv(4096):
            raise RuntimeError("the proxy refused the CONNECT")
    with context.wrap_socket(raw, server_hostname=host) as tls:
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        body = b""
        while chunk := tls.recv(4096):
            body += chunk
    if not body.endswith(b"origin"):
        raise RuntimeError(f"unexpected answer: {body[-60:]!r}")
    return time.perf_counter() - started


def memory_mib(cid: str) -> float:
    stats = json.loads(podman("stats", "--no-stream", "--format", "json", cid))
    usage = str(stats[0]["mem_usage"]).split("/")[0].strip()  # e.g. "21.3MB"
    number = float("".join(c for c in usage if c.isdigit() or c == "."))
    unit = usage.lstrip("0123456789.").strip().lower()
    return number * {"b": 1 / 2**20, "kb": 1e3 / 2**20, "kib": 1 / 1024, "mb": 1e6 / 2**20, "mib": 1, "gb": 1e9 / 2**20, "gib": 1024}[unit]


def held_tunnels(proxy: Proxy, host: str, port: int, count: int) -> list[ssl.SSLSocket]:
    """`count` TLS sessions through the proxy, handshake done, left open."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    out = []
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
        raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        raw.recv(4096)
        out.append(context.wrap_socket(raw, server_hostname=host))
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    build(AGENT_DIR, PROXY, target="egress-proxy")
    with tempfile.TemporaryDirectory() as tmp:
        origin = Origin(Path(tmp))
        proxy = Proxy(Path(tmp), origin, denied=[])
        try:
            for _ in range(10):  # warm both paths
                tls_get("a.test", origin.tls_port, None)
                tls_get("a.test", origin.tls_port, proxy)
            direct, proxied = [], []
            for _ in range(args.requests):  # interleaved, so both see the same machine load
                direct.append(tls_get("a.test", origin.tls_port, None))
                proxied.append(tls_get("a.test", origin.tls_port, proxy))
            time.sleep(2)
            idle = memory_mib(proxy.squid)
            tunnels = held_tunnels(proxy, "a.test", origin.tls_port, 50)
            time.sleep(2)
            loaded = memory_mib(proxy.squid)
            for t in tunnels:
                t.close()
            result = {
                "requests": args.requests,
                "direct_ms": {"p50": round(pct(direct, 50), 2), "p95": round(pct(direct, 95), 2)},
                "proxied_ms": {"p50": round(pct(proxied, 50), 2), "p95": round(pct(proxied, 95), 2)},
                "added_ms": {"p50": round(pct(proxied, 50) - pct(direct, 50), 2), "p95": round(pct(proxied, 95) - pct(direct, 95), 2)},
                "squid_memory_mib": {"idle": round(idle, 1), "50_open_tunnels": round(loaded, 1)},
                "cpus": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
            }
            print(json.dumps(result, indent=2))
        finally:
            proxy.close()
            origin.close()


if __name__ == "__main__":
    main()
