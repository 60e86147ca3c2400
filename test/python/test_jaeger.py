"""The local trace viewer: the Jaeger binary e2e/images/jaeger/build.sh builds from the Go module
proxy, run as a real process on loopback ports with the image's config, and its image run as the
stack runs it (uid 10001, read-only root). One span tree goes in over OTLP/HTTP with the
OpenTelemetry SDK, and comes back from the query API (/api/traces).

Slow on a cold machine (the Go build); cached by version after. Part of scripts/test-image.sh.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from conftest import free_port
from images import BASE_IMAGE, build, podman

REPO = Path(__file__).resolve().parents[2]
JAEGER_DIR = REPO / "e2e" / "images" / "jaeger"
TAG = "test-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:10]
IMAGE = f"localhost/agentscope-jaeger:{TAG}"


@dataclass(frozen=True)
class Ports:
    otlp: int
    query: int
    health: int
    grpc: int

    def env(self) -> dict[str, str]:
        """The variables the image's config.yaml reads, all on loopback."""
        return {
            "JAEGER_LISTEN_HOST": "127.0.0.1",
            "JAEGER_OTLP_HTTP_PORT": str(self.otlp),
            "JAEGER_QUERY_HTTP_PORT": str(self.query),
            "JAEGER_HEALTH_PORT": str(self.health),
            "JAEGER_QUERY_GRPC_PORT": str(self.grpc),
            "JAEGER_MAX_TRACES": "20",
        }


def new_ports() -> Ports:
    return Ports(otlp=free_port(), query=free_port(), health=free_port(), grpc=free_port())


def wait_ready(ports: Ports, timeout: float, alive: Any = None) -> float:
    """Seconds until the health check answers 200; bounded by timeout."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if alive is not None and not alive():
            raise RuntimeError("jaeger exited before it was ready")
        try:
            if httpx.get(f"http://127.0.0.1:{ports.health}/status", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"jaeger was not ready within {timeout}s")


@pytest.fixture(scope="session")
def jaeger_context() -> Path:
    """The build context build.sh prints: the binary (built once per version) and config.yaml."""
    out = subprocess.run([str(JAEGER_DIR / "build.sh")], capture_output=True, text=True, timeout=3600)
    assert out.returncode == 0, f"build.sh failed (the go command is needed):\n{out.stderr[-4000:]}"
    (line,) = [ln for ln in out.stdout.splitlines() if ln.startswith("JAEGER_CONTEXT=")]
    context = Path(line.split("=", 1)[1])
    assert (context / "jaeger").is_file() and (context / "config.yaml").is_file()
    print(f"\n{out.stderr.strip()}")
    return context


@pytest.fixture
def jaeger(jaeger_context: Path, tmp_path: Path) -> Iterator[Ports]:
    ports = new_ports()
    log = (tmp_path / "jaeger.log").open("w")
    proc = subprocess.Popen(
        [str(jaeger_context / "jaeger"), "--config", str(jaeger_context / "config.yaml")],
        cwd=tmp_path, env={"PATH": os.environ.get("PATH", ""), **ports.env()},
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        seconds = wait_ready(ports, timeout=60, alive=lambda: proc.poll() is None)
        print(f"\njaeger ready {seconds:.2f}s after start")
        yield ports
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def send_turn(ports: Ports, service: str = "agentscope-gateway") -> tuple[str, str, str]:
    """One gateway span with an agent span under it, exported at once; returns (trace, parent, child) ids."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{ports.otlp}/v1/traces", timeout=10)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test_jaeger")
    with tracer.start_as_current_span("gateway.request") as parent:
        with tracer.start_as_current_span("agent.turn") as child:
            child.set_attribute("agentscope.agent.name", "friday")
    provider.shutdown()
    ctx, cctx = parent.get_span_context(), child.get_span_context()
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}", f"{cctx.span_id:016x}"


def traces(ports: Ports, service: str, limit: int = 20) -> list[dict[str, Any]]:
    r = httpx.get(f"http://127.0.0.1:{ports.query}/api/traces", params={"service": service, "limit": limit}, timeout=5)
    assert r.status_code == 200, r.text
    return list(r.json()["data"] or [])


def wait_traces(ports: Ports, service: str, count: int, timeout: float = 30,
                spans: int = 1) -> list[dict[str, Any]]:
    """The batch processor flushes within a second or so; poll, bounded, until `count` traces hold
    `spans` spans each: the spans of one trace arrive in separate requests (SimpleSpanProcessor) and
    may land in separate batches, so a trace can be seen before all of it is stored. (The memory
    store refuses a limit above max_traces, so the query asks for 20.)"""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = traces(ports, service)
        if len(found) >= count and all(len(t["spans"]) >= spans for t in found):
            return found
        time.sleep(0.3)
    raise AssertionError(f"{len(found)} traces of {service} after {timeout}s, wanted {count} of {spans} spans: "
                         f"{[sorted(s['operationName'] for s in t['spans']) for t in found]}")


def check_round_trip(ports: Ports) -> None:
    trace_id, parent_id, child_id = send_turn(ports)
    (trace,) = wait_traces(ports, "agentscope-gateway", 1, spans=2)
    assert trace["traceID"] == trace_id
    spans = {s["operationName"]: s for s in trace["spans"]}
    assert set(spans) == {"gateway.request", "agent.turn"}
    assert spans["gateway.request"]["spanID"] == parent_id
    assert spans["agent.turn"]["spanID"] == child_id
    assert spans["agent.turn"]["references"] == [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent_id}]
    tags = {t["key"]: t["value"] for t in spans["agent.turn"]["tags"]}
    assert tags["agentscope.agent.name"] == "friday"
    process = trace["processes"][spans["agent.turn"]["processID"]]
    assert process["serviceName"] == "agentscope-gateway"
    # The same trace by id, as a link from a log line's trace_id would ask for it.
    r = httpx.get(f"http://127.0.0.1:{ports.query}/api/traces/{trace_id}", timeout=5)
    assert r.status_code == 200 and r.json()["data"][0]["traceID"] == trace_id


def test_a_span_sent_over_otlp_http_comes_back_from_the_query_api(jaeger: Ports) -> None:
    check_round_trip(jaeger)
    services = httpx.get(f"http://127.0.0.1:{jaeger.query}/api/services", timeout=5).json()["data"]
    assert services == ["agentscope-gateway"]


def test_memory_storage_keeps_at_most_max_traces(jaeger: Ports) -> None:
    for _ in range(25):  # JAEGER_MAX_TRACES is 20
        send_turn(jaeger, service="bounded")
    time.sleep(2)  # past the batch processor's flush
    kept = wait_traces(jaeger, "bounded", 20)
    assert len(kept) == 20


def test_it_listens_only_where_the_config_says(jaeger: Ports) -> None:
    """OTLP/HTTP, query, health and loopback gRPC query: no other TCP listener (no 4317, 8888, 14268...)."""
    out = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, timeout=10, check=True).stdout
    mine = sorted(int(line.split()[3].rsplit(":", 1)[1]) for line in out.splitlines() if '"jaeger"' in line)
    assert mine == sorted([jaeger.otlp, jaeger.query, jaeger.health, jaeger.grpc])


def test_the_ui_path_serves_the_module_placeholder(jaeger: Ports) -> None:
    """The module ships no UI assets (jaeger-ui is a separate project no package registry publishes):
    `/` is Jaeger's own placeholder page, and the API is what the README points at."""
    r = httpx.get(f"http://127.0.0.1:{jaeger.query}/", timeout=5)
    assert r.status_code == 200
    assert "This is a placeholder for the Jaeger UI home page" in r.text


@pytest.fixture(scope="session")
def jaeger_image(jaeger_context: Path) -> str:
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE]).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: run scripts/make-base-image.sh")
    seconds = build(jaeger_context, IMAGE, dockerfile=JAEGER_DIR / "Containerfile")
    print(f"\njaeger image built in {seconds:.1f}s")
    return IMAGE


def test_the_image_runs_as_the_stack_runs_it_and_round_trips(jaeger_image: str) -> None:
    config = podman("image", "inspect", "--format", "{{.Config.User}}", jaeger_image).strip()
    assert config == "10001:10001"
    ports = new_ports()
    env = [a for k, v in ports.env().items() for a in ("-e", f"{k}={v}")]
    cid = podman("run", "-d", "--network", "host", "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
                 "--user", "10001:10001", *env, jaeger_image).strip()
    try:
        wait_ready(ports, timeout=60)
        check_round_trip(ports)
    finally:
        podman("rm", "-f", "-t", "5", cid, check=False)
