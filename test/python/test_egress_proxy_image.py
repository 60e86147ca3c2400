"""The sandboxes' egress proxy image (agent-image/Dockerfile `--target egress-proxy`), run as its
pod runs it (components/workload/egress-proxy.ts): uid 10001, read-only root, no capabilities, the
throwaway certificate made by the same image first, squid.conf exactly as squid-config.ts renders
it. Everything stays on loopback: the "outside" hosts are TLS and HTTP servers this test starts on
127.0.0.1, under names (a.test, b.test, c.test) that only the container's /etc/hosts knows.
Proves: an allowed name passes over HTTPS and HTTP, another name gets the proxy's 403, a CONNECT
whose TLS SNI is another (even allowed) name is cut, an allowed name that resolves into a denied
range is refused, the access log is one JSON line per request, and the exporter counts refusals.
Run by scripts/test-image.sh."""
from __future__ import annotations

import hashlib
import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from images import build, image_size, podman
from test_image import K8S_LIKE, require_base

REPO = Path(__file__).resolve().parents[2]
AGENT_DIR = REPO / "agent-image"
PROXY = "localhost/egress-proxy:test-" + hashlib.sha256(str(AGENT_DIR).encode()).hexdigest()[:10]
ALLOWED = ["a.test", "b.test"]
NAMES = [*ALLOWED, "c.test"]
RUN_DIR = "/run/squid"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def render_squid_conf(tmp: Path, **args: object) -> str:
    """squid.conf from components/workload/squid-config.ts itself (compiled, then run by node)."""
    out = tmp / "js"
    subprocess.run(["npx", "tsc", "--outDir", str(out), "--module", "commonjs", "--target", "es2022", "--skipLibCheck",
                    "--strict", str(REPO / "components/workload/squid-config.ts")], cwd=REPO, check=True, timeout=300)
    return subprocess.run(["node", str(REPO / "test/python/render_squid_conf.js"), str(out / "squid-config.js"), json.dumps(args)],
                          check=True, capture_output=True, text=True, timeout=60).stdout


class Origin:
    """A TLS server and a plain HTTP server on loopback answering for every test name."""

    def __init__(self, tmp: Path) -> None:
        cert = tmp / "origin.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=a.test",
                        "-addext", "subjectAltName=" + ",".join(f"DNS:{n}" for n in NAMES),
                        "-keyout", str(cert), "-out", str(cert)], check=True, capture_output=True)
        handler = type("Handler", (http.server.BaseHTTPRequestHandler,), {
            "do_GET": lambda self: (self.send_response(200), self.send_header("Content-Length", "6"), self.end_headers(), self.wfile.write(b"origin")),
            "log_message": lambda self, *a: None,
        })
        self.https = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert))
        self.https.socket = context.wrap_socket(self.https.socket, server_side=True)
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        for server in (self.https, self.http):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        self.tls_port = int(self.https.server_address[1])
        self.http_port = int(self.http.server_address[1])

    def close(self) -> None:
        for server in (self.https, self.http):
            server.shutdown()


class Proxy:
    """The pod: `bump-cert` once, then `squid` and `exporter`, host network, loopback only."""

    def __init__(self, tmp: Path, origin: Origin, denied: list[str]) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        conf_dir, run_dir = tmp / "conf", tmp / "run"
        conf_dir.mkdir()
        run_dir.mkdir()
        run_dir.chmod(0o777)  # the emptyDir, writable by uid 10001
        (conf_dir / "squid.conf").write_text(render_squid_conf(
            tmp, allow=ALLOWED, listenPort=self.port, connectPorts=[origin.tls_port], httpPorts=[origin.http_port],
            deniedCidrs=denied, bumpCertPath=f"{RUN_DIR}/bump.pem"))
        hosts = [arg for n in NAMES for arg in ("--add-host", f"{n}:127.0.0.1")]
        pod = ["--network", "host", *K8S_LIKE, "--user", "10001:10001", *hosts]
        podman("run", "--rm", *pod, "-v", f"{run_dir}:{RUN_DIR}", PROXY, "openssl", "req", "-x509", "-newkey", "rsa:2048",
               "-nodes", "-days", "1", "-subj", "/CN=agentscope egress proxy", "-keyout", f"{RUN_DIR}/bump.pem", "-out", f"{RUN_DIR}/bump.pem")
        self.squid = podman("run", "-d", *pod, "-v", f"{conf_dir}:/etc/squid/egress:ro", "-v", f"{run_dir}:{RUN_DIR}:ro",
                            PROXY, "squid", "-N", "-f", "/etc/squid/egress/squid.conf").strip()
        self.exporter = podman("run", "-d", *pod, PROXY, "prometheus-squid-exporter", "-listen", f"127.0.0.1:{self.metrics_port}",
                               "-squid-hostname", "127.0.0.1", "-squid-port", str(self.port)).strip()
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("squid did not listen:\n" + self.logs())

    def logs(self) -> str:
        result = subprocess.run(["podman", "logs", self.squid], capture_output=True, text=True)
        return result.stdout + result.stderr

    def access_log(self) -> list[dict[str, object]]:
        out = subprocess.run(["podman", "logs", self.squid], capture_output=True, text=True).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def errors_total(self) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text
        return float(next(line.split()[1] for line in text.splitlines() if line.startswith("squid_client_http_errors_total ")))

    def close(self) -> None:
        podman("rm", "-f", self.squid, self.exporter, check=False)


@pytest.fixture(scope="module")
def proxy_image() -> None:
    require_base()
    seconds = build(AGENT_DIR, PROXY, target="egress-proxy")
    print(f"\negress proxy image built in {seconds:.0f}s, {image_size(PROXY) / 1e6:.0f} MB")


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    o = Origin(tmp_path_factory.mktemp("origin"))
    yield o
    o.close()


@pytest.fixture(scope="module")
def proxy(proxy_image: None, origin: Origin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    p = Proxy(tmp_path_factory.mktemp("proxy"), origin, denied=[])
    yield p
    p.close()


def connect(proxy: Proxy, host: str, port: int, sni: str) -> str:
    """CONNECT host:port through the proxy, then a TLS handshake with `sni`; the response body or the failure."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = raw.recv(4096).decode(errors="replace")
        if " 200 " not in head.splitlines()[0]:
            return "refused: " + head.splitlines()[0]
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:
            with context.wrap_socket(raw, server_hostname=sni) as tls:
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
                response = b""
                while chunk := tls.recv(4096):
                    response += chunk
                return response.decode(errors="replace").split("\r\n\r\n", 1)[-1]
        except (ssl.SSLError, OSError) as e:
            return f"cut: {type(e).__name__}"


def test_runs_as_10001_from_debian_packages(proxy_image: None) -> None:
    config = json.loads(podman("image", "inspect", "--format", "{{json .Config}}", PROXY))
    assert config["User"] == "10001:10001"
    versions = podman("run", "--rm", *K8S_LIKE, PROXY, "sh", "-c", "squid -v | head -1; dpkg-query -W -f '${Package}\\n' squid-openssl prometheus-squid-exporter")
    assert versions.splitlines()[0].startswith("Squid Cache: Version 5.")
    assert sorted(versions.splitlines()[1:]) == ["prometheus-squid-exporter", "squid-openssl"]


def test_an_allowed_name_passes_over_https_and_http(proxy: Proxy, origin: Origin) -> None:
    with httpx.Client(proxy=proxy.url, verify=False, timeout=10) as client:
        assert client.get(f"https://a.test:{origin.tls_port}/").text == "origin"
        assert client.get(f"https://b.test:{origin.tls_port}/").text == "origin"
        assert client.get(f"http://a.test:{origin.http_port}/").text == "origin"


def test_another_name_gets_the_proxys_403(proxy: Proxy, origin: Origin) -> None:
    before = proxy.errors_total()
    with httpx.Client(proxy=proxy.url, verify=False, timeout=10) as client:
        plain = client.get(f"http://c.test:{origin.http_port}/")
        assert plain.status_code == 403 and plain.headers["x-squid-error"].startswith("ERR_ACCESS_DENIED")
        # On an ssl-bump port Squid tells a refused CONNECT inside TLS, under its throwaway certificate.
        tls = client.get(f"https://c.test:{origin.tls_port}/")
        assert tls.status_code == 403 and tls.headers["x-squid-error"].startswith("ERR_ACCESS_DENIED")
        # An allowed name on a port outside connectPorts is refused too.
        assert client.get(f"https://a.test:{origin.http_port}/").status_code == 403
    with httpx.Client(proxy=proxy.url, timeout=10) as strict, pytest.raises(httpx.ConnectError):
        strict.get(f"https://c.test:{origin.tls_port}/")  # a client that verifies certificates gets no answer at all
    assert proxy.errors_total() - before >= 4


def test_a_sni_that_is_not_the_connect_name_is_cut(proxy: Proxy, origin: Origin) -> None:
    assert connect(proxy, "a.test", origin.tls_port, sni="a.test").startswith("origin")
    # Both names are allowed, the server answers for both: only the pair is wrong.
    assert connect(proxy, "a.test", origin.tls_port, sni="b.test").startswith("cut: ")
    assert connect(proxy, "a.test", origin.tls_port, sni="c.test").startswith("cut: ")
    terminated = [e for e in proxy.access_log() if e.get("bump_mode") == "terminate"]
    assert {(e["url"], e["sni"]) for e in terminated} >= {(f"a.test:{origin.tls_port}", "b.test"), (f"a.test:{origin.tls_port}", "c.test")}


def test_a_tunnel_carries_tls_to_the_connect_name_only(proxy: Proxy, origin: Origin) -> None:
    # Plain bytes after an allowed CONNECT: Squid's peek finds no ClientHello and closes the tunnel.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(f"CONNECT a.test:{origin.tls_port} HTTP/1.1\r\nHost: a.test\r\n\r\n".encode())
        assert b" 200 " in raw.recv(4096)
        raw.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        assert raw.recv(4096) == b""
    # A ClientHello without SNI is spliced: the tunnel still ends at the allowed name's address.
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(f"CONNECT a.test:{origin.tls_port} HTTP/1.1\r\nHost: a.test\r\n\r\n".encode())
        assert b" 200 " in raw.recv(4096)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with context.wrap_socket(raw, server_hostname=None) as tls:
            tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
            response = b""
            while chunk := tls.recv(4096):
                response += chunk
        assert response.endswith(b"origin")


def test_the_access_log_is_json_in_the_stacks_fields(proxy: Proxy, origin: Origin) -> None:
    with httpx.Client(proxy=proxy.url, timeout=10) as client:
        client.get(f"http://c.test:{origin.http_port}/denied-path")
    entries = proxy.access_log()
    denied = [e for e in entries if e["url"] == f"http://c.test:{origin.http_port}/denied-path"]
    assert len(denied) == 1
    e = denied[0]
    assert {"ts", "level", "logger", "msg"} <= set(e) and e["logger"] == "squid.access" and e["level"] == "INFO"
    assert e["status"] == "403" and e["squid_status"] == "TCP_DENIED" and e["error"] == "ERR_ACCESS_DENIED"
    assert time.strptime(str(e["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ")


def test_an_allowed_name_resolving_into_a_denied_range_is_refused(proxy_image: None, origin: Origin, tmp_path: Path) -> None:
    p = Proxy(tmp_path, origin, denied=["127.0.0.0/8"])
    try:
        with httpx.Client(proxy=p.url, verify=False, timeout=10) as client:
            assert client.get(f"http://a.test:{origin.http_port}/").status_code == 403
            assert client.get(f"https://a.test:{origin.tls_port}/").status_code == 403
    finally:
        p.close()
